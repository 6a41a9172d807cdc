"""`tagwise run` and `tagwise backfill`: the daily job as of a date, or over a range of
dates (its Dagster partitions), in this process."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click
from rich.markup import escape
from rich.table import Table

from tagwise.cli.display import (
    end_progress,
    show_progress,
    show_run_gate,
    show_sync,
    show_warehouse,
    summary_table,
)
from tagwise.cli.options import (
    check_catalogs,
    console,
    exports_option,
    landing_option,
    parse_day,
    target_option,
    verify_option,
    warehouse_option,
)

if TYPE_CHECKING:
    from tagwise.activation.changes import Sync
    from tagwise.orchestration.run import RunReport


@click.command("run")
@landing_option
@warehouse_option
@exports_option
@click.option(
    "--as-of",
    "as_of",
    callback=parse_day,
    default=None,
    help="As-of date D [default: today, UTC, as a scheduled daily run wants; for data that "
    "ends earlier, such as a sample, give its last day: the run says when D is more than a "
    "few days after the newest event].",
)
@target_option
@verify_option
def run_command(
    landing: Path, warehouse: Path, exports: Path, as_of: date | None, target: str,
    verify_content: bool,
) -> None:  # fmt: skip
    """Run the daily asset graph in this process as of D (its partition D): ingest, build,
    predict, gate, then export and publish for BI (the same graph Dagster schedules)."""
    as_of = as_of or datetime.now(UTC).date()
    _refuse_early(landing, warehouse, exports, as_of, target, older_than=as_of)
    _upgrade(warehouse)
    from tagwise.orchestration.run import run_pipeline  # imported here: Dagster is slow to import

    console.print(f"running the daily graph as of {as_of}")
    report = _logged(
        warehouse,
        as_of,
        lambda log: run_pipeline(
            _run_settings(landing, warehouse, exports, target, verify_content),
            as_of,
            on_step=_show_step,
            dbt_log=log,
            on_progress=show_progress,
        ),
    )
    _show_run(report, warehouse, target)


@click.command("backfill")
@landing_option
@warehouse_option
@exports_option
@click.option("--from", "first", callback=parse_day, required=True, help="First as-of date to run.")
@click.option("--to", "last", callback=parse_day, required=True, help="Last as-of date to run.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Replay history: the first date rebuilds incremental models and history from "
    "scratch, so --from may be before the latest release.",
)
@target_option
@verify_option
def backfill_command(
    landing: Path, warehouse: Path, exports: Path, first: date, last: date, full_refresh: bool,
    target: str, verify_content: bool,
) -> None:  # fmt: skip
    """The daily graph for every as-of date from --from to --to, oldest first: each date is
    a daily run (its Dagster partition), gated, exported and published as it would have
    been. A failed date stops the backfill."""
    if last < first:
        raise click.UsageError(f"--to {last} is before --from {first}")
    _refuse_early(
        landing, warehouse, exports, last, target, older_than=None if full_refresh else first
    )
    _upgrade(warehouse)
    from tagwise.orchestration.run import run_backfill

    settings = _run_settings(landing, warehouse, exports, target, verify_content)
    reports: list[RunReport] = []

    def each(day: date) -> None:
        console.print(f"backfill: the daily graph as of {day}")

    def backfill(log) -> RunReport:
        reports.extend(
            run_backfill(
                settings,
                first,
                last,
                full_refresh,
                on_run=each,
                on_step=_show_step,
                dbt_log=log,
                on_progress=show_progress,
            )
        )
        return reports[-1]

    last_report = _logged(warehouse, last, backfill)
    for report in reports:
        _show_run(report, warehouse, target, brief=report is not last_report)


def _upgrade(warehouse: Path) -> None:
    """A warehouse an earlier release wrote is upgraded before the run, which says so (the
    run's resource upgrades too, for runs Dagster starts; a new warehouse is its to create)."""
    from tagwise.migrations import describe, upgrade
    from tagwise.warehouse import WarehouseLock

    with WarehouseLock(warehouse):
        if upgraded := upgrade(warehouse):
            console.print(describe(upgraded))


def _refuse_early(
    landing: Path, warehouse: Path, exports: Path, as_of: date, target: str,
    older_than: date | None,
) -> None:  # fmt: skip
    """What would refuse the run is checked first, so that a refusal takes a moment and
    leaves the last run's log alone. The run itself takes the warehouse lock again.
    older_than: the first date built, refused if before the latest release (None: a
    replay of history, which may start before it)."""
    from tagwise.dbt import refuse_future
    from tagwise.history import refuse_older
    from tagwise.ingest import require_landing
    from tagwise.paths import refuse_collisions
    from tagwise.publish import published_path
    from tagwise.warehouse import WarehouseLock

    refuse_future(as_of)
    refuse_collisions(warehouse, published_path(warehouse), exports, landing)
    with WarehouseLock(warehouse):
        require_landing(landing)
        # Spark's history is in Spark: its dbt hook refuses there.
        if target == "duckdb" and older_than is not None:
            refuse_older(warehouse, older_than)
    # Before Dagster loads the dbt project, which renders the catalogs' text.
    check_catalogs()


def _run_settings(
    landing: Path, warehouse: Path, exports: Path, target: str, verify_content: bool
) -> dict:
    return {
        "landing": str(landing.resolve()),
        "warehouse": str(warehouse.resolve()),
        "exports": str(exports.resolve()),
        "target": target,
        "verify_content": verify_content,
    }


def _logged(warehouse: Path, as_of: date, run: Callable[[TextIO], RunReport]) -> RunReport:
    """Runs with dbt's output in logs/run-D.log: the last good run's; a failed one's is
    kept beside it as run-D.failed.log. The report beside it, run-D.json (or
    run-D.failed.json), says in JSON what the summary prints, for a scheduler's checks."""
    logs = warehouse.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log, failed_log = logs / f"run-{as_of}.log", logs / f"run-{as_of}.failed.log"
    writing = logs / f"run-{as_of}.log.part"
    console.print(f"dbt's log: {log}")
    with writing.open("w", encoding="utf-8") as dbt_log:
        report = run(dbt_log)
        for detail in report.error_details:  # the cause is printed once; the rest is here
            dbt_log.write(f"\n--- failed step {detail}\n")
    kept = log if report.success else failed_log
    os.replace(writing, kept)
    report.log = kept
    written = kept.with_suffix(".json.part")
    written.write_text(report.to_json(), encoding="utf-8")
    os.replace(written, kept.with_suffix(".json"))
    return report


def _show_step(step) -> None:
    end_progress()  # the progress line gives way to the step's
    mark = {"success": "[green]done[/green]", "failure": "[red]failed[/red]"}.get(
        step.status, "[yellow]skipped[/yellow]"
    )
    took = f" in {step.seconds:.1f} s" if step.seconds is not None else ""
    console.print(f"  {mark} {step.key}{took}")


def _show_run(report: RunReport, warehouse: Path, target: str, brief: bool = False) -> None:
    """What a run did; brief: an earlier date of a backfill, its counts only."""
    if report.ingestion and not brief:
        console.print(summary_table(report.ingestion))
    if report.dbt_nodes_built:
        tests = report.dbt_tests
        console.print(
            f"as of {report.as_of}: dbt {report.dbt_nodes_built} models and seeds built; tests "
            f"{tests['passed']} passed, {tests['warned']} warned, {tests['failed']} failed"
        )
        if not brief:
            for name in report.dbt_warnings:
                console.print(f"[yellow]warning:[/yellow] dbt test {name}", highlight=False)
    interests = report.models.get("propensity_quality")
    if interests and not brief:  # its verdict: why the likely-* tags are given or withheld
        console.print(f"interests model: {interests['note']}", highlight=False)
    if report.gates and not brief:
        show_run_gate(report.gates)
    if not report.success:
        for error in report.errors:
            console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        if not report.gate_passed:
            console.print(
                "[red]release stopped:[/red] nothing exported or published; the last good publish stands"
            )
        console.print(f"dbt's log: {report.log}")
        raise SystemExit(1)
    for destination, metadata in report.exports.items():
        sync = _sync_from(destination, metadata)
        if sync is None:  # the asset says why: nothing new, or not configured
            console.print(f"export {destination}: {metadata['sync']}")
        else:
            show_sync(destination, sync)
    if brief:
        return
    show_warehouse(warehouse, target)
    from tagwise.summary import data_gap, identity_notes, reach_notes

    gap = data_gap(warehouse, report.as_of)
    notes = (
        ([gap] if gap else []) + identity_notes(warehouse, target) + reach_notes(warehouse, target)
    )
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    console.print(f"published to {report.published['path']} (open it read-only from BI tools)")
    steps = Table("step", "seconds", title="time per step")
    for step in report.steps:
        steps.add_row(step.key, f"{step.seconds:.1f}" if step.seconds is not None else "-")
    console.print(steps)


def _sync_from(destination: str, metadata: dict) -> Sync | None:
    """An export asset's metadata as the Sync it describes (None: nothing was sent)."""
    from tagwise.activation.changes import Sync

    if "adds" not in metadata:
        return None
    return Sync(
        metadata["sync"], destination, metadata["adds"], metadata["updates"], metadata["removes"],
        metadata["resent"], tuple(Path(f) for f in metadata["files"]),
        held=metadata.get("held", False), delivery=metadata.get("delivery"),
    )  # fmt: skip
