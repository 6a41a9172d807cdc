"""Reverse-ETL export (SPEC 3.7): change sets of an audience for a destination.

The destination holds what it last acknowledged. Each export compares the audience table
with that acknowledged snapshot and writes the difference as one sync: add, update or
remove per key, in CSV and JSON Lines, with the full audience beside it. Until the sync
is acknowledged (`tagwise ack`), the next export sends it again, byte for byte, when
nothing changed since; when something did, the pending sync is superseded by a new one
computed against the acknowledged snapshot, so no change is ever lost.

A webhook destination has the same files and state; tagwise.webhook also POSTs its sync
in batches, and acknowledges it once every batch is.

The export folder is an outbox: it holds the files of the pending sync only. Files of a
sync that was acknowledged (the destination holds its rows) or superseded (a newer sync
carries its changes) are removed by the next export or erasure pass, so personal data
does not pile up day after day and an erasure has only the pending files to rewrite.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tagwise.destinations import AUDIENCES, Destination, destination_keys, destinations
from tagwise.errors import TagwiseError
from tagwise.paths import remove_abandoned_scratch
from tagwise.relations import create_source_tables_sql, ref, source
from tagwise.release import require_passed_gate
from tagwise.warehouse import WarehouseLock, connect, existing_tables, require_built

# Fields holding sorted lists: one text in the audience table and the CSV files, joined
# by LIST_SEPARATOR (the `sorted_list_agg` macro's; names never contain it), and a JSON
# array in JSON Lines, as list properties of email platforms expect.
LIST_FIELDS = ("audiences", "tags")
LIST_SEPARATOR = ", "

# Warehouses written before erasures were kept as hashes: the address becomes its hash;
# and before keys other than addresses: that hash is the key's.
ERASURES_HASHED_DDL = (
    "alter table {erasures_applied} add column if not exists email_sha256 varchar",
    "update {erasures_applied} set email_sha256 = sha256(email), email = null where email is not null",
    "alter table {erasures_applied} add column if not exists key_sha256 varchar",
    "update {erasures_applied} set key_sha256 = email_sha256 where key_sha256 is null",
)


# The tables erased_identifiers_sql reads.
@functools.cache
def erased_people_tables():
    return [
        ref("int_identity__identifiers"),
        ref("int_identity__erased_people"),
    ]


# Every address and phone an erased person's records have held, not only the latest.
@functools.cache
def erased_identifiers_sql():
    return f"""
    select distinct i.identifier_type, i.identifier from {ref("int_identity__identifiers")} i
    join {ref("int_identity__erased_people")} using (customer_key)
    where i.identifier_type in ('email', 'phone')"""


# The addresses and phones someone not erased holds as of the build: an erased person's
# former phone may be another customer's now, and that customer's rows under it stay.
@functools.cache
def identifiers_held_by_others_sql():
    return f"""
    select distinct identifier_type, identifier from {ref("int_identity__identifiers")}
    where is_current and identifier_type in ('email', 'phone')
        and customer_key not in (select customer_key from {ref("int_identity__erased_people")})"""


def export_inputs() -> list[str]:
    """The built tables an export of any destination reads."""
    return [ref(AUDIENCES), ref("build_info")]


def changes_table(destination: str) -> str:
    return f"marts.{destination}_audience_changes"


def _changes_ddl(destination: str) -> str:
    return (
        f"create table if not exists {changes_table(destination)} "
        "(sync_id varchar not null, key varchar not null, change varchar not null, payload varchar)"
    )


class ExportError(TagwiseError):
    """The export or acknowledgement cannot proceed; the message says why."""


@dataclass(frozen=True)
class Sync:
    sync_id: str
    destination: str
    adds: int
    updates: int
    removes: int
    resent: bool
    files: tuple[Path, ...]
    # Set by `acknowledge` when the sync had been acknowledged before (nothing changed).
    acknowledged_before: bool = False
    # Above the destination's thresholds: written aside under held/, not sent (SPEC 3.7, rule 4).
    held: bool = False
    # A webhook destination's delivery this run (tagwise.webhook.Delivery.describe).
    delivery: str | None = None
    # Whether that delivery left batches unacknowledged (a receiver failing or away).
    delivery_failed: bool = False

    def refuse_failed_delivery(self) -> None:
        """Raise when the webhook delivery did not finish: the run ends failed, naming
        the destination (the sync stays pending; the next run resumes it)."""
        if self.delivery_failed:
            raise ExportError(
                f"destination {self.destination}: the webhook delivery of sync {self.sync_id} "
                f"did not finish ({self.delivery}); it stays pending"
            )

    @property
    def changes(self) -> int:
        return self.adds + self.updates + self.removes


@dataclass(frozen=True)
class HoldThresholds:
    """When a sync is held rather than sent (SPEC 3.7, rule 4): its adds or its removes are
    more than `share` of the audience the destination acknowledged and at least
    `min_people`. A destination that has acknowledged nothing yet takes its first load."""

    share: float
    min_people: int

    @classmethod
    def for_destination(cls, destination: Destination) -> HoldThresholds:
        """The destination's catalog thresholds, else the settings'."""
        from tagwise.settings import current

        settings = current()
        return cls(
            settings.sync_hold_share if destination.hold_share is None else destination.hold_share,
            settings.sync_hold_min_people
            if destination.hold_min_people is None
            else destination.hold_min_people,
        )

    def holds(self, acknowledged: int | None, adds: int, removes: int) -> bool:
        if acknowledged is None:
            return False
        return any(n >= self.min_people and n > self.share * acknowledged for n in (adds, removes))


# A held sync's files are written here, out of the outbox that the destination's loader
# reads, until `tagwise sync approve` moves them in or `tagwise sync reject` drops them.
HELD = "held"


def _current_sql(destination: str) -> str:
    """Key and payload (JSON, keys in alphabetical order) of every row the destination
    receives. Names in the catalog are checked words (tagwise.catalog), safe as literals."""
    fields = ", ".join(f"{c} := {c}" for c in sorted(destinations()[destination].fields))
    payload = f"to_json(struct_pack({fields}))::varchar" if fields else "'{}'"
    return (
        f"select key, {payload} as payload from {ref(AUDIENCES)} "
        f"where destination = '{destination}'"
    )


# Every key that may be at the destination: what it acknowledged, and what any sync sent
# since may have added. tagwise removes only these keys (SPEC 3.7, rules 1 and 2).
@functools.cache
def possibly_at_destination_sql() -> str:
    return f"""
    select key from {source("export", "acknowledged")} where destination = $destination
    union
    select key from {source("export", "unacknowledged_changes")}
    where destination = $destination and change <> 'remove'
"""


# One full outer join classifies every difference (a union of anti-joins would be
# plainer, but DuckDB 2.0.0 can answer that shape wrongly: README, known issues). A key
# that an unacknowledged sync touched may hold what that sync sent or what was
# acknowledged: it is added again after an unacknowledged remove, and updated when
# anything it may hold differs from its current row. A payload erasure redacted (null)
# is unknown, so its key is updated.
@functools.cache
def changes_sql() -> str:
    return f"""
with held as (
    select key, payload from {source("export", "acknowledged")} where destination = $destination
),

sent as (
    select key, change, payload from {source("export", "unacknowledged_changes")}
    where destination = $destination
),

possible as ({possibly_at_destination_sql()}),

touched as (
    select key, bool_or(change = 'remove') as removed from sent group by key
)

select
    coalesce(current_rows.key, possible.key) as key,
    case
        when current_rows.key is null then 'remove'
        when held.key is null or touched.removed then 'add'
        else 'update'
    end as change,
    current_rows.payload
from _current as current_rows
full outer join possible
    on current_rows.key = possible.key
left join held
    on coalesce(current_rows.key, possible.key) = held.key
left join touched
    on coalesce(current_rows.key, possible.key) = touched.key
where
    current_rows.key is null
    or held.key is null
    or touched.removed
    or held.payload is distinct from current_rows.payload
    or exists (
        select 1 from sent
        where
            sent.key = current_rows.key
            and sent.change <> 'remove'
            and sent.payload is distinct from current_rows.payload
    )
"""


def compute_changes(con: duckdb.DuckDBPyConnection, destination: str) -> None:
    """Temp tables _current (the audience as key and payload) and _changes (what a sync
    made now would carry)."""
    con.execute(f"create or replace temp table _current as {_current_sql(destination)}")
    con.execute(
        f"create or replace temp table _changes as {changes_sql()}", {"destination": destination}
    )


def unsent_removes(con: duckdb.DuckDBPyConnection, destination: str) -> list[tuple[str, str]]:
    """What the next change set would get wrong against SPEC 3.7: a key that may be at the
    destination but is no longer eligible without a remove, or a remove of a key tagwise
    never sent. The release gate checks this on the change set about to leave."""
    compute_changes(con, destination)
    return con.execute(
        f"""
        with possible as ({possibly_at_destination_sql()})
        select key, 'no remove for a key no longer eligible' from possible
        where key not in (select key from _current)
            and key not in (select key from _changes where change = 'remove')
        union all
        select key, 'remove of a key never sent' from _changes
        where change = 'remove' and key not in (select key from possible)
        """,
        {"destination": destination},
    ).fetchall()


# Characters that end a line for some readers (Python's str.splitlines, JavaScript) but that
# json.dumps(ensure_ascii=False) leaves as they are: written escaped, so a JSON Lines file
# has exactly one row per "\n" for every reader.
LINE_BREAKING = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _with_lists(row: dict) -> dict:
    """The row with each list field as a JSON array (empty when the text is)."""
    for field in LIST_FIELDS:
        if isinstance(row.get(field), str):
            row[field] = row[field].split(LIST_SEPARATOR) if row[field] else []
    return row


def change_record(key: str, item: str, change: str, payload: str | None) -> dict:
    """One change as JSON Lines files and webhook batches carry it: the key under its
    name, the change, and the fields (null for a remove)."""
    return {
        key: item,
        "change": change,
        "row": _with_lists(json.loads(payload)) if payload else None,
    }


def json_line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False).translate(LINE_BREAKING) + "\n"


def jsonl_rows(text: str) -> list[str]:
    """A JSON Lines file's rows, each with its "\n": split at "\n" only."""
    rows = text.split("\n")
    return [row + "\n" for row in rows[:-1]] + ([rows[-1]] if rows[-1] else [])


# Files of a write that did not finish (the process was killed between writing and
# renaming): `.<name>.<pid>.tmp` of an export, `.<name>.<pid>.partial` of a publish.
UNFINISHED_WRITE = re.compile(r"\..+\.[0-9]+\.(?:tmp|partial)")


def remove_unfinished_writes(folder: Path, name: str = "") -> list[Path]:
    """Remove what killed writes of tagwise's files (of the one named, if given) left in a
    folder: they hold personal data that nothing else would ever redact. The warehouse
    lock means no other tagwise run is writing them."""
    leftovers = [
        p
        for p in (folder.iterdir() if folder.is_dir() else [])
        if UNFINISHED_WRITE.fullmatch(p.name) and p.name.startswith(f".{name}")
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


# A cell a spreadsheet would run as a formula (OWASP's CSV injection guidance): a name
# such as `=HYPERLINK(...)` opened from a platform's export. The key is never touched: an
# E.164 phone starts with `+` and must reach the platform as it is.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell):
    """The cell with a leading `'` where it would start a formula; other cells as they are."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_START) else cell


def _write_atomically(path: Path, write) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _write_files(
    con: duckdb.DuckDBPyConnection, out: Path, destination: str, sync_id: str, held: bool = False
) -> tuple[Path, ...]:
    """The sync's change set (CSV and JSON Lines) and the audience it was computed from,
    written from the stored sync, so that sending it again gives the same bytes; a held
    sync's under held/. A kind with a platform import file (its `import_headers`) also
    gets the platform's own files: `import-<sync>.csv` (adds and updates, the key first,
    under the platform's headers, lists as it wants them) and `remove-<sync>.csv` (the
    keys to remove): an import that applies one status to every row takes each as is."""
    entry = destinations()[destination]
    key, columns, kind = entry.key, entry.fields, entry.traits
    folder = out / destination / HELD if held else out / destination
    folder.mkdir(parents=True, exist_ok=True)
    # The CSV cells are read out of the payload in SQL: decoding it per row in Python took
    # most of the time of writing a million-customer audience.
    cells = "".join(f", json_extract_string(payload, '$.{c}')" for c in columns)
    changes = con.execute(
        f"select key, change, payload{cells} from {changes_table(destination)} "
        "where sync_id = ? order by key",
        [sync_id],
    ).fetchall()
    audience = con.execute(
        f"select key{cells} from {source('export', 'sync_snapshots')} where sync_id = ? order by key",
        [sync_id],
    ).fetchall()

    def changes_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow(["sync_id", key, "change", *columns])
        writer.writerows(
            (sync_id, item, change, *map(spreadsheet_safe, values))
            for item, change, _, *values in changes
        )

    def changes_jsonl(handle) -> None:
        for item, change, payload, *_ in changes:
            handle.write(
                json_line({"sync_id": sync_id, **change_record(key, item, change, payload)})
            )

    def audience_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow([key, *columns])
        writer.writerows((item, *map(spreadsheet_safe, values)) for item, *values in audience)

    headers = dict(kind.import_headers)

    def platform_cell(column: str, value):
        if kind.import_lists == "json" and column in LIST_FIELDS and value is not None:
            value = json.dumps(value.split(LIST_SEPARATOR) if value else [], ensure_ascii=False)
        return spreadsheet_safe(value)

    def import_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow([headers[key], *(headers[c] for c in columns)])
        writer.writerows(
            (item, *(platform_cell(c, v) for c, v in zip(columns, values, strict=True)))
            for item, change, _, *values in changes
            if change != "remove"
        )

    def remove_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow([headers[key]])
        writer.writerows((item,) for item, change, *_ in changes if change == "remove")

    files = (
        (folder / f"changes-{sync_id}.csv", changes_csv),
        (folder / f"changes-{sync_id}.jsonl", changes_jsonl),
        (folder / f"audience-{sync_id}.csv", audience_csv),
    ) + (
        (
            (folder / f"{IMPORT}-{sync_id}.csv", import_csv),
            (folder / f"{REMOVALS}-{sync_id}.csv", remove_csv),
        )
        if headers
        else ()
    )
    for path, write in files:
        _write_atomically(path, write)
    return tuple(path for path, _ in files)


# The files _write_files names for a sync; other files in the folder are not ours.
IMPORT, REMOVALS = "import", "remove"
SYNC_FILE = re.compile(rf"(?:changes|audience|{IMPORT}|{REMOVALS})-(?P<sync_id>.+)\.(?:csv|jsonl)")


def _remove_delivered_files(
    con: duckdb.DuckDBPyConnection, out: Path, destination: str
) -> list[Path]:
    """Remove the files of syncs that are neither pending (in the outbox) nor held (under
    held/); returns the files left."""
    kept = []
    for status, folder in (("pending", out / destination), ("held", out / destination / HELD)):
        current = {
            sync_id
            for (sync_id,) in con.execute(
                f"select sync_id from {source('export', 'syncs')} where destination = ? and status = ?",
                [destination, status],
            ).fetchall()
        }
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            name = SYNC_FILE.fullmatch(path.name)
            if name is None:
                continue
            if name["sync_id"] in current:
                kept.append(path)
            else:
                path.unlink()
    return kept


def _create_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The export state: the dbt source `export` (models/staging/export), where its tables'
    columns, data types and constraints are written once."""
    for statement in create_source_tables_sql("export"):
        con.execute(statement)
    for statement in ERASURES_HASHED_DDL:
        con.execute(statement.format(erasures_applied=source("export", "erasures_applied")))


def prepare_state(con: duckdb.DuckDBPyConnection, destination: str) -> None:
    _create_state_tables(con)
    # The change feed is published with the marts; on the Spark target dbt's marts are
    # elsewhere and this file may not have the schema yet.
    con.execute("create schema if not exists marts")
    con.execute(_changes_ddl(destination))
    # A warehouse whose pending sync predates the unacknowledged changes table.
    con.execute(
        f"""
        insert into {source("export", "unacknowledged_changes")}
        select $destination, sync_id, key, change, payload from {changes_table(destination)}
        where sync_id in (
            select sync_id from {source("export", "syncs")} where destination = $destination and status = 'pending')
            and not exists (
                select 1 from {source("export", "unacknowledged_changes")} where destination = $destination)
        """,
        {"destination": destination},
    )


def export(
    warehouse: Path, destination: str, out: Path, thresholds: HoldThresholds | None = None
) -> Sync | None:
    """Write the pending change set for the destination, or hold it when it is above the
    thresholds (default: the settings'); None when there is nothing to send."""
    known = destinations()
    if destination not in known:
        raise ExportError(
            f"unknown destination {destination!r}; the destination catalog has: {', '.join(known)}"
        )
    # A webhook without its URL refuses before anything is computed: nothing half-sent.
    webhook = _webhook(destination)
    thresholds = thresholds or HoldThresholds.for_destination(known[destination])
    with connect(warehouse) as con:
        require_passed_gate(con)
        prepare_state(con, destination)
        sync = _sync_to_send(con, destination, out, thresholds)
        if sync is not None and webhook is not None and not sync.held:
            sync = _deliver(con, sync, webhook)
        _remove_delivered_files(con, out, destination)
    return sync


def not_configured(destination: str) -> str | None:
    """Why a run sends nothing to the destination (a webhook without its URL), or None."""
    if destinations()[destination].traits.delivery != "webhook":
        return None
    from tagwise.settings import current, variable

    if current().webhook_url:
        return None
    return f"not configured: {variable('webhook_url')} is not set; nothing sent"


def _webhook(destination: str):
    if destinations()[destination].traits.delivery != "webhook":
        return None
    from tagwise.webhook import Webhook

    return Webhook.from_settings()


def _deliver(con: duckdb.DuckDBPyConnection, sync: Sync, webhook) -> Sync:
    """POST the sync's batches not acknowledged yet; the sync is acknowledged with its last."""
    from tagwise.webhook import deliver

    delivery = deliver(con, sync.destination, sync.sync_id, webhook)
    if not delivery.complete:
        return replace(sync, delivery=delivery.describe(), delivery_failed=True)
    # Acknowledged: the outbox no longer keeps its files (_remove_delivered_files).
    _acknowledge(con, sync.destination, sync.sync_id)
    return replace(sync, delivery=delivery.describe(), files=())


def _latest(con: duckdb.DuckDBPyConnection, destination: str, status: str) -> str | None:
    found = con.execute(
        f"select sync_id from {source('export', 'syncs')} where destination = ? and status = ? "
        "order by created_at desc limit 1",
        [destination, status],
    ).fetchone()
    return found[0] if found else None


def _same_changes(con: duckdb.DuckDBPyConnection, destination: str, sync_id: str) -> bool:
    """Whether the changes just computed are the stored sync's, row for row."""
    changes_of = changes_table(destination)
    differences = con.execute(
        f"""
        select count(*) from (
            (select key, change, payload from _changes
             except select key, change, payload from {changes_of} where sync_id = $sync)
            union all
            (select key, change, payload from {changes_of} where sync_id = $sync
             except select key, change, payload from _changes)
        )
        """,
        {"sync": sync_id},
    ).fetchone()[0]
    return differences == 0


def _sync_to_send(
    con: duckdb.DuckDBPyConnection, destination: str, out: Path, thresholds: HoldThresholds
) -> Sync | None:
    """The held or pending sync again when nothing changed, a new sync (pending, or held
    above the thresholds), or None; its files written under out."""
    compute_changes(con, destination)
    held, pending = _latest(con, destination, "held"), _latest(con, destination, "pending")
    if held and _same_changes(con, destination, held):
        files = _write_files(con, out, destination, held, held=True)
        return _sync(con, held, resent=True, files=files)
    if pending and _same_changes(con, destination, pending):
        # What was held no longer follows from the data (its cause was fixed): never send it.
        if held:
            _supersede(con, destination, held)
        return _sync(con, pending, resent=True, files=_write_files(con, out, destination, pending))
    if pending and _settle_acknowledged_batches(con, destination, pending):
        # The pending sync will be superseded: what its acknowledged batches carried is
        # at the destination, and the new sync is computed against that.
        compute_changes(con, destination)
    adds, updates, removes = con.execute(
        "select count(case when change = 'add' then 1 end), "
        "count(case when change = 'update' then 1 end), "
        "count(case when change = 'remove' then 1 end) from _changes"
    ).fetchone()
    if adds + updates + removes == 0:
        for sync_id in (held, pending):
            if sync_id:
                _supersede(con, destination, sync_id)
        return None
    acknowledged = con.execute(
        f"select (select count(*) from {source('export', 'acknowledged')} where destination = $d) "
        f"where exists (select 1 from {source('export', 'syncs')} "
        "where destination = $d and status = 'acknowledged')",
        {"d": destination},
    ).fetchone()
    hold = thresholds.holds(acknowledged[0] if acknowledged else None, adds, removes)
    as_of = con.execute(f"select as_of_date from {ref('build_info')}").fetchone()[0]
    sequence = con.execute(
        f"select count(*) + 1 from {source('export', 'syncs')} where destination = ? and as_of_date = ?",
        [destination, as_of],
    ).fetchone()[0]
    sync_id = f"{destination}-{as_of:%Y%m%d}-{sequence:03d}"
    con.execute("begin transaction")
    # A held sync is replaced by any newer one. The pending sync stays while the new one
    # is held: it was sent, and the held one, if approved, carries its changes too.
    for replaced in (held, None if hold else pending):
        if replaced:
            _supersede(con, destination, replaced)
    con.execute(
        f"insert into {source('export', 'syncs')} values (?, ?, ?, ?, ?, ?, ?, ?, null)",
        [
            sync_id,
            destination,
            as_of,
            datetime.now(UTC).replace(tzinfo=None),
            "held" if hold else "pending",
            adds,
            updates,
            removes,
        ],
    )
    con.execute(
        f"insert into {source('export', 'sync_snapshots')} select ?, key, payload from _current",
        [sync_id],
    )
    con.execute(
        f"insert into {changes_table(destination)} select ?, key, change, payload from _changes",
        [sync_id],
    )
    if not hold:
        _record_sent(con, destination, sync_id)
    con.execute("commit")
    files = _write_files(con, out, destination, sync_id, held=hold)
    return _sync(con, sync_id, resent=False, files=files)


def _settle_acknowledged_batches(
    con: duckdb.DuckDBPyConnection, destination: str, sync_id: str
) -> bool:
    """A webhook sync about to be superseded before its last batch: the rows of its
    acknowledged batches are at the destination. They join its acknowledged state and
    leave what may be there, so the sync that replaces it neither sends them again under
    new idempotency keys nor treats them as unknown (SPEC 3.7, rule 6). An acknowledged
    batch keeps no key range; its rows are the sync's rows outside every batch still to
    send. Returns whether anything was settled (nothing for a sync without batches)."""
    batches = source("export", "webhook_batches")
    (acknowledged_batches,) = con.execute(
        f"select count(acknowledged_at) from {batches} where sync_id = ?", [sync_id]
    ).fetchone()
    if not acknowledged_batches:
        return False
    delivered = f"""
        select key, change, payload from {changes_table(destination)} c
        where sync_id = $sync and not exists (
            select 1 from {batches} b where b.sync_id = c.sync_id
                and b.acknowledged_at is null and c.key between b.first_key and b.last_key)"""
    arguments = {"destination": destination, "sync": sync_id}
    acknowledged = source("export", "acknowledged")
    con.execute("begin transaction")
    con.execute(
        f"delete from {acknowledged} where destination = $destination "
        f"and key in (select key from ({delivered}))",
        arguments,
    )
    con.execute(
        f"insert into {acknowledged} select $destination, key, payload from ({delivered}) "
        "where change <> 'remove'",
        arguments,
    )
    con.execute(
        f"delete from {source('export', 'unacknowledged_changes')} "
        f"where destination = $destination and key in (select key from ({delivered}))",
        arguments,
    )
    con.execute("commit")
    return True


def _record_sent(con: duckdb.DuckDBPyConnection, destination: str, sync_id: str) -> None:
    """From now on the destination may have applied the sync's changes (SPEC 3.7, rule 1),
    and the sync log holds every row sent."""
    con.execute(
        f"insert into {source('export', 'unacknowledged_changes')} "
        f"select ?, sync_id, key, change, payload from {changes_table(destination)} where sync_id = ?",
        [destination, sync_id],
    )
    # The remove that takes an erased person's key off the destination is logged by its
    # hash only, like the rows sent before the erasure (SPEC 3.7, rule 5).
    con.execute(
        f"insert into {source('export', 'sync_log')} "
        "select ?, sync_id, if(change = 'remove' and sha256(key) in ("
        f"select key_sha256 from {source('export', 'erasures_applied')}), null, key), "
        "sha256(key), change, sha256(payload), ?, 'sent' "
        f"from {changes_table(destination)} where sync_id = ?",
        [destination, datetime.now(UTC).replace(tzinfo=None), sync_id],
    )


def _log_delivery(con: duckdb.DuckDBPyConnection, sync_id: str, delivery: str) -> None:
    con.execute(
        f"update {source('export', 'sync_log')} set delivery = ? "
        "where sync_id = ? and delivery = 'sent'",
        [delivery, sync_id],
    )


def _keeps(key_value: str | None, change: str | None, erased: set[str]) -> bool:
    # A remove is how the erasure reaches the destination: it stays, with the address only.
    return key_value not in erased or change == "remove"


def _jsonl_key(key: str) -> re.Pattern:
    """The change and key at the start of a JSON Lines row as `_write_files` writes them
    (keys sorted); a row of another shape is parsed whole."""
    return re.compile(
        r'\{"change": ("[a-z]+"), ' + re.escape(json.dumps(key)) + r': ("(?:[^"\\]|\\.)*"|null)'
    )


def _redact_file(path: Path, key: str, erased: set[str]) -> int:
    """Rewrite one export file without the rows of erased people; returns rows dropped.
    Files are hundreds of megabytes at a million customers: JSON Lines rows are read only
    as far as their change and key, CSV rows as lists."""
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    if path.suffix == ".jsonl":
        start = _jsonl_key(key)

        def kept(line: str) -> bool:
            found = start.match(line)
            if found:
                return _keeps(json.loads(found[2]), json.loads(found[1]), erased)
            row = json.loads(line)
            return _keeps(row.get(key), row.get("change"), erased)

        lines = jsonl_rows(text)
        kept_lines = [line for line in lines if not line.strip() or kept(line)]
        dropped = len(lines) - len(kept_lines)
        write = lambda out: out.writelines(kept_lines)  # noqa: E731
    elif path.name.startswith(f"{REMOVALS}-"):
        # Every row is a remove: how the erasure reaches the platform.
        return 0
    else:
        header, *rows = csv.reader(io.StringIO(text, newline=""))
        # A platform import file has the key first, under the platform's header.
        at_key = 0 if path.name.startswith(f"{IMPORT}-") else header.index(key)
        at_change = header.index("change") if "change" in header else None
        kept_rows = [
            row
            for row in rows
            if _keeps(row[at_key], None if at_change is None else row[at_change], erased)
        ]
        dropped = len(rows) - len(kept_rows)
        write = lambda out: csv.writer(out).writerows([header, *kept_rows])  # noqa: E731
    if dropped:
        _write_atomically(path, write)
    return dropped


ACCESS_REPORTS = "access-reports"


def access_reports_folder(warehouse: Path) -> Path:
    """Where access reports are written by default: beside the warehouse, never in the
    exports outbox that reverse-ETL tools sync (a report is a person's whole record). The
    erasure pass removes a report there once its person is erased."""
    return warehouse.parent / ACCESS_REPORTS


def access_report_path(warehouse: Path, customer_key: str, as_of) -> Path:
    return access_reports_folder(warehouse) / f"{customer_key}-{as_of}.json"


def erase_from_exports(warehouse: Path, out: Path, published: Path | None = None) -> int:
    """Erasure reaches every file tagwise wrote (SPEC 3.6). First, what no sync needs any
    more: files of delivered or superseded syncs, leftovers of killed writes (exports and
    publish), access reports of erased people. Then the rows of people erased as of the
    build leave the stored sync state and the pending and held syncs' files under `out`,
    except the remove that tells the destination to delete them. Each address is done once
    (export.erasures_applied, by hash), so a day without new erasures reads no file.
    Returns rows dropped."""
    dropped = 0
    # A killed diff's scratch copy of the warehouse holds everyone, the erased included.
    remove_abandoned_scratch(warehouse)
    for destination in destinations():
        remove_unfinished_writes(out / destination)
        remove_unfinished_writes(out / destination / HELD)
    if published is not None:
        remove_unfinished_writes(published.parent, published.name)
    with connect(warehouse) as con:
        outbox = {}
        for destination in destinations():
            prepare_state(con, destination)
            outbox[destination] = _remove_delivered_files(con, out, destination)
        erased_people = {
            key
            for (key,) in con.execute(
                f"select customer_key from {ref('int_identity__erased_people')}"
            ).fetchall()
        }
        # Reports of earlier releases were written under the exports folder.
        for reports in (access_reports_folder(warehouse), out / ACCESS_REPORTS):
            for report in sorted(reports.glob("*.json")) if reports.is_dir() else []:
                if report.name.rsplit("-", 3)[0] in erased_people:
                    report.unlink()
        known = destinations()
        identifiers = con.execute(erased_identifiers_sql()).fetchall()
        applied = {
            h
            for (h,) in con.execute(
                f"select key_sha256 from {source('export', 'erasures_applied')}"
            ).fetchall()
        }
        erased = {
            key
            for key in destination_keys(identifiers)
            if hashlib.sha256(key.encode()).hexdigest() not in applied
        }
        if not erased:
            return 0
        # A key another customer holds now is theirs: their rows and log stay, and only
        # the payloads the destination may hold (perhaps the erased person's) are redacted.
        others = destination_keys(con.execute(identifiers_held_by_others_sql()).fetchall())
        con.execute("create or replace temp table _erased (key varchar, held_by_another boolean)")
        con.executemany(
            "insert into _erased values (?, ?)", [(key, key in others) for key in sorted(erased)]
        )
        own = "key in (select key from _erased where not held_by_another)"
        con.execute("begin transaction")
        # The log keeps the hash: what was sent stays provable without the address.
        con.execute(f"update {source('export', 'sync_log')} set key = null where {own}")
        for destination in known:
            con.execute(f"delete from {source('export', 'sync_snapshots')} where {own}")
            con.execute(
                f"delete from {changes_table(destination)} where change <> 'remove' and {own}"
            )
            # A webhook batch never POSTed never reached the destination: the erased
            # person's row there leaves what may be at it (no remove to send).
            con.execute(
                f"""delete from {source("export", "unacknowledged_changes")} u
                where destination = ? and {own} and exists (
                    select 1 from {never_posted_sql()} b where b.sync_id = u.sync_id
                        and u.key between b.first_key and b.last_key)""",
                [destination],
            )
            # Batches still to send hold the ranges of the rows left (tagwise.webhook).
            con.execute(
                f"""update {source("export", "webhook_batches")} b set
                first_key = (select min(key) from {changes_table(destination)} c
                    where c.sync_id = b.sync_id and c.key between b.first_key and b.last_key),
                last_key = (select max(key) from {changes_table(destination)} c
                    where c.sync_id = b.sync_id and c.key between b.first_key and b.last_key)
                where destination = ? and first_key is not null""",
                [destination],
            )
            for state in (
                source("export", "acknowledged"),
                source("export", "unacknowledged_changes"),
            ):
                con.execute(
                    f"update {state} set payload = null "
                    "where destination = ? and key in (select key from _erased)",
                    [destination],
                )
        con.execute("commit")
        for destination, settings in known.items():
            for path in outbox[destination]:
                dropped += _redact_file(path, settings.key, erased - others)
        # Recorded once the files are done: a run cut short repeats the work next time.
        con.execute(
            f"insert into {source('export', 'erasures_applied')} (key_sha256, applied_at) "
            "select sha256(key), ? from _erased",
            [datetime.now(UTC).replace(tzinfo=None)],
        )
    return dropped


# The webhook batches of a sync that were never POSTed (no try, no acknowledgement).
@functools.cache
def never_posted_sql() -> str:
    return (
        f"(select * from {source('export', 'webhook_batches')} "
        "where tries = 0 and acknowledged_at is null)"
    )


def _supersede(
    con: duckdb.DuckDBPyConnection, destination: str, sync_id: str, status: str = "superseded"
) -> None:
    """The sync will never be sent (again): its status says why; its stored rows go."""
    con.execute(
        f"update {source('export', 'syncs')} set status = ? where sync_id = ?", [status, sync_id]
    )
    # Only a sent sync has log rows (a rejected one was held, never sent).
    _log_delivery(con, sync_id, "superseded")
    # Rows of webhook batches never POSTed never reached the destination: nothing the
    # next sync should remove or treat as possibly there.
    con.execute(
        f"""delete from {source("export", "unacknowledged_changes")} u where sync_id = $sync
        and exists (select 1 from {never_posted_sql()} b where b.sync_id = u.sync_id
            and u.key between b.first_key and b.last_key)""",
        {"sync": sync_id},
    )
    # Its webhook batches will never be sent: their key ranges (addresses) go.
    con.execute(
        f"update {source('export', 'webhook_batches')} set first_key = null, last_key = null "
        "where sync_id = ?",
        [sync_id],
    )
    con.execute(f"delete from {source('export', 'sync_snapshots')} where sync_id = ?", [sync_id])
    con.execute(f"delete from {changes_table(destination)} where sync_id = ?", [sync_id])


def _sync(
    con: duckdb.DuckDBPyConnection, sync_id: str, resent: bool, files: tuple[Path, ...]
) -> Sync:
    destination, adds, updates, removes, status = con.execute(
        f"select destination, adds, updates, removes, status from {source('export', 'syncs')} "
        "where sync_id = ?",
        [sync_id],
    ).fetchone()
    return Sync(sync_id, destination, adds, updates, removes, resent, files, held=status == "held")


def acknowledge(warehouse: Path, sync_id: str) -> Sync:
    """Record that the destination applied a sync: its snapshot becomes what it holds."""
    with connect(warehouse) as con:
        # Not prepare_state: the destination, which names its change table, is read below.
        _create_state_tables(con)
        destination, status = _destination_and_status(con, sync_id)
        if status == "acknowledged":
            # Retried acknowledgements (a scheduler's retry, a copied command) are harmless.
            return replace(_sync(con, sync_id, resent=False, files=()), acknowledged_before=True)
        if status != "pending":
            advice = (
                f"; send it first with `tagwise sync approve {sync_id}`" if status == "held" else ""
            )
            raise ExportError(
                f"sync {sync_id} is {status}; only the pending sync can be acknowledged{advice}"
            )
        _refuse_partial_delivery(con, sync_id)
        _acknowledge(con, destination, sync_id)
        return _sync(con, sync_id, resent=False, files=())


def _refuse_partial_delivery(con: duckdb.DuckDBPyConnection, sync_id: str) -> None:
    """A webhook sync whose delivery started is acknowledged by its last batch, never by
    hand: acknowledging it at 3 of 8 batches would leave batches 4 to 8 unsent for good."""
    done, planned = con.execute(
        f"select count(acknowledged_at), count(*) from {source('export', 'webhook_batches')} "
        "where sync_id = ?",
        [sync_id],
    ).fetchone()
    if planned and done < planned:
        raise ExportError(
            f"sync {sync_id} has {done} of {planned} webhook batches acknowledged by the "
            "receiver; the next run delivers the rest and acknowledges it, so it is not "
            "acknowledged by hand"
        )


def _acknowledge(con: duckdb.DuckDBPyConnection, destination: str, sync_id: str) -> None:
    """The pending sync's snapshot becomes what the destination holds."""
    con.execute("begin transaction")
    con.execute(
        f"delete from {source('export', 'acknowledged')} where destination = ?", [destination]
    )
    con.execute(
        f"insert into {source('export', 'acknowledged')} select ?, key, payload from {source('export', 'sync_snapshots')} where sync_id = ?",
        [destination, sync_id],
    )
    con.execute(
        f"update {source('export', 'syncs')} set status = 'acknowledged', acknowledged_at = ? where sync_id = ?",
        [datetime.now(UTC).replace(tzinfo=None), sync_id],
    )
    con.execute(f"delete from {source('export', 'sync_snapshots')} where sync_id = ?", [sync_id])
    con.execute(f"delete from {changes_table(destination)} where sync_id = ?", [sync_id])
    _log_delivery(con, sync_id, "acknowledged")
    # The destination applied the newest sync, which carried every earlier one's changes.
    con.execute(
        f"delete from {source('export', 'unacknowledged_changes')} where destination = ?",
        [destination],
    )
    # A held sync was computed against what the destination held before: the next
    # export computes it again against what it holds now.
    held = _latest(con, destination, "held")
    if held:
        _supersede(con, destination, held)
    con.execute("commit")


def _destination_and_status(con: duckdb.DuckDBPyConnection, sync_id: str) -> tuple[str, str]:
    found = con.execute(
        f"select destination, status from {source('export', 'syncs')} where sync_id = ?",
        [sync_id],
    ).fetchone()
    if found is None:
        raise ExportError(f"no sync {sync_id}")
    return found


def _held_destination(con: duckdb.DuckDBPyConnection, sync_id: str, verb: str) -> str:
    destination, status = _destination_and_status(con, sync_id)
    if status != "held":
        raise ExportError(f"sync {sync_id} is {status}; only a held sync can be {verb}")
    return destination


def approve(warehouse: Path, sync_id: str, out: Path) -> Sync:
    """Send a held sync: it replaces the pending sync, whose changes it carries too, and
    its files are written into the outbox from the stored sync (erasures applied)."""
    with connect(warehouse) as con:
        _create_state_tables(con)
        destination = _held_destination(con, sync_id, "approved")
        webhook = _webhook(destination)
        require_passed_gate(con)
        prepare_state(con, destination)
        pending = _latest(con, destination, "pending")
        con.execute("begin transaction")
        _recheck_eligibility(con, destination, sync_id)
        if pending:
            _supersede(con, destination, pending)
        con.execute(
            f"update {source('export', 'syncs')} set status = 'pending' where sync_id = ?",
            [sync_id],
        )
        _record_sent(con, destination, sync_id)
        con.execute("commit")
        files = _write_files(con, out, destination, sync_id)
        sync = _sync(con, sync_id, resent=False, files=files)
        if webhook is not None:
            sync = _deliver(con, sync, webhook)
        _remove_delivered_files(con, out, destination)
        return sync


def _recheck_eligibility(con: duckdb.DuckDBPyConnection, destination: str, sync_id: str) -> None:
    """A held sync was computed from the build of its day; people may have unsubscribed,
    withdrawn, been suppressed or erased since. Before it is sent, every row is checked
    against the latest build's audience (SPEC 3.7, rules 1 and 3): an add or update for
    someone no longer eligible becomes a remove where the key may be at the destination
    and is dropped where it never was, anyone else no longer eligible who may be there
    gets a remove, and the snapshot the destination will hold keeps only the eligible."""
    con.execute(f"create or replace temp table _current as {_current_sql(destination)}")
    changes = changes_table(destination)
    arguments = {"destination": destination, "sync": sync_id}
    gone = "key not in (select key from _current)"
    con.execute(
        f"""update {changes} set change = 'remove', payload = null
        where sync_id = $sync and change <> 'remove' and {gone}
            and key in ({possibly_at_destination_sql()})""",
        arguments,
    )
    con.execute(
        f"delete from {changes} where sync_id = $sync and change <> 'remove' and {gone}",
        {"sync": sync_id},
    )
    con.execute(
        f"""insert into {changes}
        select $sync, key, 'remove', null from ({possibly_at_destination_sql()})
        where {gone} and key not in (select key from {changes} where sync_id = $sync)""",
        arguments,
    )
    con.execute(
        f"delete from {source('export', 'sync_snapshots')} where sync_id = $sync and {gone}",
        {"sync": sync_id},
    )
    con.execute(
        f"""update {source("export", "syncs")} set
            adds = (select count(*) from {changes} where sync_id = $sync and change = 'add'),
            updates = (select count(*) from {changes} where sync_id = $sync and change = 'update'),
            removes = (select count(*) from {changes} where sync_id = $sync and change = 'remove')
        where sync_id = $sync""",
        {"sync": sync_id},
    )


def reject(warehouse: Path, sync_id: str, out: Path) -> Sync:
    """Drop a held sync and its files. The next export computes the changes again, and
    holds them again unless what caused them (a catalog edit, a bad load) was fixed."""
    with connect(warehouse) as con:
        _create_state_tables(con)
        destination = _held_destination(con, sync_id, "rejected")
        sync = _sync(con, sync_id, resent=False, files=())
        con.execute("begin transaction")
        _supersede(con, destination, sync_id, status="rejected")
        con.execute("commit")
        _remove_delivered_files(con, out, destination)
        return sync


@dataclass(frozen=True)
class SyncState:
    """One line of `tagwise sync status`: a destination's held, pending or last acknowledged
    sync, or a destination that has none."""

    destination: str
    sync_id: str | None
    status: str  # held, pending, acknowledged, or `never synced`
    changes: tuple[int, int, int] | None  # adds, updates, removes
    at: datetime | None  # when it was written, or acknowledged
    audience: int | None  # acknowledged: the audience the destination confirmed holding
    # A webhook's pending sync: batches the receiver acknowledged, of all (tagwise.webhook).
    batches: tuple[int, int] | None = None


# What `tagwise sync status` lists first: what waits for a person, then for the destination.
STATUS_ORDER = ("held", "pending", "acknowledged")


def sync_status(warehouse: Path) -> list[SyncState]:
    """Per destination, its held, pending and last acknowledged syncs, read under a shared
    lock (never from the middle of a run)."""
    require_built(warehouse)
    with WarehouseLock(warehouse, shared=True), connect(warehouse, read_only=True) as con:
        syncs, batches = source("export", "syncs"), source("export", "webhook_batches")
        # A warehouse whose export state predates webhook batches has none.
        tables = existing_tables(con)
        exists = syncs in tables
        if exists and batches not in tables:
            batches = "(select null::varchar as sync_id, null::timestamp as acknowledged_at)"
        found = (
            con.execute(
                f"""
            select destination, sync_id, status, adds, updates, removes,
                coalesce(acknowledged_at, created_at),
                case when status = 'acknowledged' then (
                    select count(*) from {source("export", "acknowledged")} a
                    where a.destination = s.destination) end,
                (select [count(acknowledged_at), count(*)] from {batches} b
                 where b.sync_id = s.sync_id)
            from {syncs} s
            where status in ('held', 'pending') or sync_id in (
                select arg_max(sync_id, acknowledged_at) from {syncs}
                where status = 'acknowledged' group by destination)
            """
            ).fetchall()
            if exists
            else []
        )
    states = [
        SyncState(
            destination, sync_id, status, (adds, updates, removes), at, audience,
            tuple(batched) if status == "pending" and batched[1] else None,
        )
        for destination, sync_id, status, adds, updates, removes, at, audience, batched in found
    ]  # fmt: skip
    listed = {state.destination for state in states}
    states += [
        SyncState(d, None, "never synced", None, None, None)
        for d in destinations()
        if d not in listed
    ]
    return sorted(
        states,
        key=lambda s: (s.destination, STATUS_ORDER.index(s.status) if s.sync_id else 0),
    )
