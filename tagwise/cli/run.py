"""`tagwise run` and `tagwise backfill`: building as of a date."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from tagwise.cli.display import show_run_gate, show_sync, show_warehouse, summary_table
from tagwise.cli.options import (
    check_catalogs,
    console,
    exports_option,
    holds_warehouse,
    landing_option,
    parse_day,
    target_option,
    verify_option,
    warehouse_option,
)

if TYPE_CHECKING:
    from tagwise.dbt import DbtSettings
    from tagwise.export import Sync


@click.command("run")
@landing_option
@warehouse_option
@exports_option
@click.option(
    "--as-of", "as_of", callback=parse_day, default=None, help="As-of date D (default: today, UTC)."
)
@target_option
@verify_option
@click.option("--allow-future", is_flag=True, help="Allow an as-of date after today (UTC).")
def run_command(
    landing: Path,
    warehouse: Path,
    exports: Path,
    as_of: date | None,
    target: str,
    verify_content: bool,
    allow_future: bool,
) -> None:
    """Run the daily asset graph in this process: ingest, build as of D, predict, gate,
    then export and publish for BI (the same graph Dagster schedules)."""
    from tagwise.dbt import refuse_future
    from tagwise.history import refuse_older
    from tagwise.ingest import require_landing
    from tagwise.paths import refuse_collisions
    from tagwise.publish import published_path
    from tagwise.warehouse import WarehouseLock

    # What would refuse the run is checked first, so that a refusal takes a moment and
    # leaves the last run's log alone. The run itself takes the warehouse lock again.
    as_of = as_of or datetime.now(UTC).date()
    refuse_future(as_of, allow_future)
    refuse_collisions(warehouse, published_path(warehouse), exports, landing)
    with WarehouseLock(warehouse):
        require_landing(landing)
        if target == "duckdb":  # Spark's history is in Spark: its dbt hook refuses there.
            refuse_older(warehouse, as_of)
    # Before Dagster loads the dbt project, which renders the catalogs' text.
    check_catalogs()
    from orchestration.run import run_pipeline  # imported here: Dagster is slow to import

    logs = warehouse.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log, failed_log = logs / f"run-{as_of}.log", logs / f"run-{as_of}.failed.log"
    writing = logs / f"run-{as_of}.log.part"
    console.print(f"running the daily graph as of {as_of}; dbt's log: {log}")

    def show(step) -> None:
        mark = {"success": "[green]done[/green]", "failure": "[red]failed[/red]"}.get(
            step.status, "[yellow]skipped[/yellow]"
        )
        took = f" in {step.seconds:.1f} s" if step.seconds is not None else ""
        console.print(f"  {mark} {step.key}{took}")

    with writing.open("w", encoding="utf-8") as dbt_log:
        report = run_pipeline(
            {
                "landing": str(landing.resolve()),
                "warehouse": str(warehouse.resolve()),
                "exports": str(exports.resolve()),
                "as_of": as_of.isoformat(),
                "target": target,
                "verify_content": verify_content,
                "allow_future": allow_future,
            },
            on_step=show,
            dbt_log=dbt_log,
        )
        for detail in report.error_details:  # the cause is printed once; the rest is here
            dbt_log.write(f"\n--- failed step {detail}\n")
    # run-D.log is the last good run's; a failed one's is kept beside it.
    kept = log if report.success else failed_log
    os.replace(writing, kept)
    _show_run(report, warehouse, kept, target)


def _show_run(report, warehouse: Path, log: Path, target: str) -> None:
    if report.ingestion:
        console.print(summary_table(report.ingestion))
    if report.dbt_nodes_built:
        console.print(
            f"dbt: {report.dbt_nodes_built} models and seeds built; tests "
            f"{report.dbt_tests['passed']} passed, {report.dbt_tests['failed']} failed"
        )
    if report.gates:
        show_run_gate(report.gates)
    if not report.success:
        for error in report.errors:
            console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        if not report.gate_passed:
            console.print(
                "[red]release stopped:[/red] nothing exported or published; the last good publish stands"
            )
        console.print(f"dbt's log: {log}")
        raise SystemExit(1)
    show_warehouse(warehouse, target)
    show_sync("email", _sync_from(report.export))
    console.print(f"published to {report.published['path']} (open it read-only from BI tools)")
    steps = Table("step", "seconds", title="time per step")
    for step in report.steps:
        steps.add_row(step.key, f"{step.seconds:.1f}" if step.seconds is not None else "-")
    console.print(steps)


def _sync_from(metadata: dict) -> Sync | None:
    """The export asset's metadata as the Sync it describes (None: nothing was new)."""
    from tagwise.export import Sync

    if "adds" not in metadata:
        return None
    return Sync(
        metadata["sync"], "email", metadata["adds"], metadata["updates"], metadata["removes"],
        metadata["resent"], tuple(Path(f) for f in metadata["files"]),
    )  # fmt: skip


def _build(settings: DbtSettings, full_refresh: bool = False) -> float:
    """Build as of the settings' date (dbt, model, dbt); prints what ran; returns seconds."""
    from tagwise.dbt import PRODUCTION_EXCLUDE
    from tagwise.pipeline import build

    began = time.perf_counter()
    with console.status(f"building as of {settings.as_of}"):
        result = build(settings, exclude=PRODUCTION_EXCLUDE, full_refresh=full_refresh)
    nodes = ", ".join(
        f"{kind}: " + " ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        for kind, statuses in sorted(result.nodes.items())
    )
    console.print(f"dbt build as of {settings.as_of}: {nodes}")
    model = result.model
    fitted = (
        ", ".join(f"{k} {v:.3g}" for k, v in model.parameters.items()) if model.fitted else "no fit"
    )
    console.print(
        f"model: {model.customers:,} customers, {model.repeat_customers:,} repeat; {model.note}; {fitted}"
    )
    return time.perf_counter() - began


@click.command("backfill")
@warehouse_option
@click.option(
    "--from", "first", callback=parse_day, required=True, help="First as-of date to replay."
)
@click.option("--to", "last", callback=parse_day, required=True, help="Last as-of date to replay.")
@target_option
@click.option("--allow-future", is_flag=True, help="Allow as-of dates after today (UTC).")
@holds_warehouse
def backfill_command(
    warehouse: Path, first: date, last: date, target: str, allow_future: bool
) -> None:
    """Rebuild history from the start: every as-of date from --from to --to, oldest first.

    The first date is a full refresh, which drops the recorded history. The rebuilt dates
    count as released: the next run keeps their history."""
    from tagwise.dbt import DbtSettings, refuse_future
    from tagwise.history import record_release

    if last < first:
        raise click.UsageError(f"--to {last} is before --from {first}")
    refuse_future(last, allow_future)
    check_catalogs()
    day = first
    while day <= last:
        _build(
            DbtSettings(warehouse, day, target, allow_future=allow_future),
            full_refresh=day == first,
        )
        record_release(warehouse, day)
        day += timedelta(days=1)
