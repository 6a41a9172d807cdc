"""Everything that leaves the warehouse for a destination (SPEC 3.7), one module per job.

Modules import downward only, in this order:

- `kinds`: the destination kinds (declared once, in `dbt_project.yml`'s
  `destination_kinds`, read here and by the dbt macros);
- `destinations`: the destination catalog's destinations (checked by tagwise.catalog);
- `changes`: change sets against what a destination acknowledged, and the export state;
- `outbox`: the files a sync is written to, and the removal of those no sync needs;
- `webhook`: delivery for the kind that pushes to an API (POSTs in batches);
- `syncs`: the sync state machine: send, hold, approve, reject, acknowledge, supersede;
- `redaction`: erasure in the stored state and the outbox's files; access-report paths;
- `status`: `tagwise sync status`.
"""
