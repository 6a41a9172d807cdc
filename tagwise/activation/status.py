"""`tagwise sync status`: per destination, its held, pending and last acknowledged sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tagwise.activation.destinations import destinations
from tagwise.relations import source
from tagwise.warehouse import WarehouseLock, connect, existing_tables, require_built


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
    # A webhook's pending sync: batches the receiver acknowledged, of all (tagwise.activation.webhook).
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
