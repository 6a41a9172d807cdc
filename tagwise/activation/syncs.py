"""The sync state machine (SPEC 3.7): send, hold, approve, reject, acknowledge, supersede.

The destination holds what it last acknowledged. Each export compares the audience table
with that acknowledged snapshot and writes the difference as one sync: add, update or
remove per key, in CSV and JSON Lines, with the full audience beside it. Until the sync
is acknowledged (`tagwise ack`), the next export sends it again, byte for byte, when
nothing changed since; when something did, the pending sync is superseded by a new one
computed against the acknowledged snapshot, so no change is ever lost.

A webhook destination has the same files and state; tagwise.activation.webhook also POSTs its sync
in batches, and acknowledges it once every batch is.

The export folder is an outbox: it holds the files of the pending sync only. Files of a
sync that was acknowledged (the destination holds its rows) or superseded (a newer sync
carries its changes) are removed by the next export or erasure pass, so personal data
does not pile up day after day and an erasure has only the pending files to rewrite.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tagwise.activation.changes import (
    ExportError,
    HoldThresholds,
    Sync,
    audience_changes,
    compute_changes,
    create_state_tables,
    current_sql,
    possibly_at_destination_sql,
)
from tagwise.activation.destinations import destinations
from tagwise.activation.outbox import remove_delivered_files, write_files
from tagwise.activation.webhook import Webhook, deliver, never_posted_sql
from tagwise.relations import ref, source
from tagwise.release import require_passed_gate
from tagwise.warehouse import connect


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
        create_state_tables(con)
        sync = _sync_to_send(con, destination, out, thresholds)
        if sync is not None and webhook is not None and not sync.held:
            sync = _deliver(con, sync, webhook)
        remove_delivered_files(con, out, destination)
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
    return Webhook.from_settings()


def _deliver(con: duckdb.DuckDBPyConnection, sync: Sync, webhook) -> Sync:
    """POST the sync's batches not acknowledged yet; the sync is acknowledged with its last."""
    delivery = deliver(con, sync.destination, sync.sync_id, webhook)
    if not delivery.complete:
        return replace(sync, delivery=delivery.describe(), delivery_failed=True)
    # Acknowledged: the outbox no longer keeps its files (remove_delivered_files).
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
    changes_of = audience_changes()
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
        files = write_files(con, out, destination, held, held=True)
        return _sync(con, held, resent=True, files=files)
    if pending and _same_changes(con, destination, pending):
        # What was held no longer follows from the data (its cause was fixed): never send it.
        if held:
            _supersede(con, destination, held)
        return _sync(con, pending, resent=True, files=write_files(con, out, destination, pending))
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
        f"insert into {audience_changes()} select ?, ?, key, change, payload from _changes",
        [destination, sync_id],
    )
    if not hold:
        _record_sent(con, destination, sync_id)
    con.execute("commit")
    files = write_files(con, out, destination, sync_id, held=hold)
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
        select key, change, payload from {audience_changes()} c
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
        f"select ?, sync_id, key, change, payload from {audience_changes()} where sync_id = ?",
        [destination, sync_id],
    )
    # The remove that takes an erased person's key off the destination is logged by its
    # hash only, like the rows sent before the erasure (SPEC 3.7, rule 5).
    con.execute(
        f"insert into {source('export', 'sync_log')} "
        "select ?, sync_id, if(change = 'remove' and sha256(key) in ("
        f"select key_sha256 from {source('export', 'erasures_applied')}), null, key), "
        "sha256(key), change, sha256(payload), ?, 'sent' "
        f"from {audience_changes()} where sync_id = ?",
        [destination, datetime.now(UTC).replace(tzinfo=None), sync_id],
    )


def _log_delivery(con: duckdb.DuckDBPyConnection, sync_id: str, delivery: str) -> None:
    con.execute(
        f"update {source('export', 'sync_log')} set delivery = ? "
        "where sync_id = ? and delivery = 'sent'",
        [delivery, sync_id],
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
    con.execute(f"delete from {audience_changes()} where sync_id = ?", [sync_id])


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
        create_state_tables(con)
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
    con.execute(f"delete from {audience_changes()} where sync_id = ?", [sync_id])
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
        create_state_tables(con)
        destination = _held_destination(con, sync_id, "approved")
        webhook = _webhook(destination)
        require_passed_gate(con)
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
        files = write_files(con, out, destination, sync_id)
        sync = _sync(con, sync_id, resent=False, files=files)
        if webhook is not None:
            sync = _deliver(con, sync, webhook)
        remove_delivered_files(con, out, destination)
        return sync


def _recheck_eligibility(con: duckdb.DuckDBPyConnection, destination: str, sync_id: str) -> None:
    """A held sync was computed from the build of its day; people may have unsubscribed,
    withdrawn, been suppressed or erased since. Before it is sent, every row is checked
    against the latest build's audience (SPEC 3.7, rules 1 and 3): an add or update for
    someone no longer eligible becomes a remove where the key may be at the destination
    and is dropped where it never was, anyone else no longer eligible who may be there
    gets a remove, and the snapshot the destination will hold keeps only the eligible."""
    con.execute(f"create or replace temp table _current as {current_sql(destination)}")
    changes = audience_changes()
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
        select $destination, $sync, key, 'remove', null from ({possibly_at_destination_sql()})
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
        create_state_tables(con)
        destination = _held_destination(con, sync_id, "rejected")
        sync = _sync(con, sync_id, resent=False, files=())
        con.execute("begin transaction")
        _supersede(con, destination, sync_id, status="rejected")
        con.execute("commit")
        remove_delivered_files(con, out, destination)
        return sync
