"""`tagwise validate`, `export` and `ack`: the gate and the destinations, by hand."""

from __future__ import annotations

from pathlib import Path

import click

from tagwise.cli.display import show_gate, show_sync
from tagwise.cli.options import (
    built_warehouse,
    console,
    exports_option,
    holds_warehouse,
    target_option,
    warehouse_option,
)


@click.command("validate")
@warehouse_option
@exports_option
@target_option
@built_warehouse
@holds_warehouse
def validate_command(warehouse: Path, exports: Path, target: str) -> None:
    """Run the quality gate on the built warehouse (without releasing anything)."""
    from tagwise.expectations.suites import GateSettings
    from tagwise.quality import run_gate

    gate = run_gate(warehouse, exports, GateSettings.from_env(), target=target)
    show_gate(gate)
    if not gate.passed:
        raise SystemExit(1)


@click.command("export")
@warehouse_option
@exports_option
# The names are the destination catalog's, known only once --project is read: export()
# refuses an unknown one, naming those the catalog has.
@click.option(
    "--destination",
    default="email",
    show_default=True,
    help="A destination of the destination catalog.",
)
@target_option
@built_warehouse
@holds_warehouse
def export_command(warehouse: Path, exports: Path, destination: str, target: str) -> None:
    """Write the pending change set (and the full audience) for a destination."""
    from tagwise.activation.changes import export_inputs
    from tagwise.activation.syncs import export
    from tagwise.spark import copy_to_state

    copy_to_state(warehouse, target, export_inputs())
    sync = export(warehouse, destination, exports)
    show_sync(destination, sync)
    if sync is not None:
        sync.refuse_failed_delivery()


@click.command("ack")
@click.argument("sync_id")
@warehouse_option
@built_warehouse
@holds_warehouse
def ack_command(sync_id: str, warehouse: Path) -> None:
    """Record that the destination applied a sync."""
    from tagwise.activation.syncs import acknowledge

    sync = acknowledge(warehouse, sync_id)
    if sync.acknowledged_before:
        console.print(f"{sync.sync_id} was already acknowledged; nothing changed")
        return
    console.print(f"acknowledged {sync.sync_id} ({sync.changes:,} changes)")
