"""`tagwise sync`: where each destination's syncs stand, and the decision on a held one."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from tagwise.cli.options import (
    built_warehouse,
    console,
    exports_option,
    holds_warehouse,
    project_option,
    warehouse_option,
)


@click.group("sync")
def sync_group() -> None:
    """The destinations' syncs: held, pending and acknowledged."""


@sync_group.command("status")
@warehouse_option
@project_option
def status_command(warehouse: Path) -> None:
    """Per destination: the held sync (waiting for approve or reject), the pending sync
    (sent, not acknowledged) and the last acknowledged one, with their changes."""
    from tagwise.activation.status import sync_status

    table = Table(title="syncs")
    # A sync id holds its destination and as-of date: email-20260630-001. The audience is
    # what the destination confirmed holding when it acknowledged.
    for header in ("destination", "sync", "status", "add", "update", "remove", "at", "audience"):
        table.add_column(header, no_wrap=True)
    for state in sync_status(warehouse):
        table.add_row(
            state.destination,
            state.sync_id or "",
            # A webhook's pending sync: how far its delivery got.
            state.status + (f" {state.batches[0]}/{state.batches[1]}" if state.batches else ""),
            *(f"{n:,}" for n in state.changes or ()),
            *([""] * 3 if state.changes is None else []),
            f"{state.at:%Y-%m-%d %H:%M}" if state.at else "",
            "" if state.audience is None else f"{state.audience:,}",
        )
    console.print(table)


@sync_group.command("approve")
@click.argument("sync_id")
@warehouse_option
@exports_option
@project_option
@built_warehouse
@holds_warehouse
def approve_command(sync_id: str, warehouse: Path, exports: Path) -> None:
    """Send a held sync: its files move into the destination's outbox, replacing the
    pending sync, whose changes it carries too."""
    from tagwise.activation.syncs import approve

    sync = approve(warehouse, sync_id, exports)
    counts = f"{sync.adds:,} add, {sync.updates:,} update, {sync.removes:,} remove"
    if sync.delivery is not None:
        # A webhook's: POSTed now, and acknowledged by the receiver once every batch is.
        console.print(f"approved {sync.sync_id}: {counts}; {sync.delivery}", markup=False)
    else:
        console.print(
            f"approved {sync.sync_id}: {counts} -> {sync.files[0].parent}; "
            f"acknowledge with `tagwise ack {sync.sync_id}`",
            markup=False,
        )


@sync_group.command("reject")
@click.argument("sync_id")
@warehouse_option
@exports_option
@project_option
@built_warehouse
@holds_warehouse
def reject_command(sync_id: str, warehouse: Path, exports: Path) -> None:
    """Drop a held sync. The next export computes the changes again and holds them again
    unless their cause (a catalog edit, a bad load) was fixed."""
    from tagwise.activation.syncs import reject

    sync = reject(warehouse, sync_id, exports)
    console.print(f"rejected {sync.sync_id}; nothing was sent")
