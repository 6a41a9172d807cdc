"""`tagwise sync`: where each destination's syncs stand."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from tagwise.cli.options import console, project_option, warehouse_option


@click.group("sync")
def sync_group() -> None:
    """The destinations' syncs: what is pending and what each last acknowledged."""


@sync_group.command("status")
@warehouse_option
@project_option
def status_command(warehouse: Path) -> None:
    """Per destination: the pending sync and its changes, the last acknowledged sync and
    the audience the destination confirmed holding."""
    from tagwise.export import sync_status

    table = Table(title="syncs")
    # A sync id holds its destination and as-of date: email-20260630-001.
    for header in ("destination", "pending sync", "add", "update", "remove"):
        table.add_column(header, no_wrap=True)
    # The members column counts the audience the destination confirmed holding.
    for header in ("last acknowledged", "acknowledged at", "members"):
        table.add_column(header, no_wrap=True)
    for status in sync_status(warehouse):
        changes = status.pending_changes or ("", "", "")
        table.add_row(
            status.destination,
            status.pending or "none",
            *(f"{n:,}" if n != "" else "" for n in changes),
            status.last_acknowledged or "never",
            f"{status.acknowledged_at:%Y-%m-%d %H:%M}" if status.acknowledged_at else "",
            f"{status.acknowledged_members:,}",
        )
    console.print(table)
