"""The `tagwise` command line."""

from __future__ import annotations

import functools
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from expectations.suites import GateSettings
from tagwise.catalog import check_catalogs
from tagwise.dbt import PRODUCTION_EXCLUDE, DbtSettings, refuse_future
from tagwise.errors import TagwiseError
from tagwise.export import (
    DESTINATIONS,
    Sync,
    access_report_path,
    acknowledge,
    export,
    export_inputs,
)
from tagwise.generator import DEFAULT_END, DEFAULT_START, FORMATS, GenerateConfig, generate
from tagwise.history import record_release
from tagwise.ingest import FileLoad, ingest, load_totals
from tagwise.model.cdnow import write_landing
from tagwise.model.evaluate import evaluate
from tagwise.model.fitting import NotEnoughData
from tagwise.paths import refuse_collisions
from tagwise.pipeline import build
from tagwise.privacy import access_report, write_report
from tagwise.publish import published_path
from tagwise.quality import GateResult, run_gate
from tagwise.spark import SparkSettings, copy_to_state, stop_local_server
from tagwise.summary import segment_sizes, tag_usage, warehouse_summary
from tagwise.warehouse import WarehouseLock

# Wide enough for the summary tables when output goes to a log rather than a terminal.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
DEFAULT_LANDING = Path("data/landing")
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")


def _day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from error


landing_option = click.option(
    "--landing",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_LANDING,
    envvar="TAGWISE_LANDING",
    show_default=True,
    show_envvar=True,
    help="Landing directory: one folder per source.",
)
warehouse_option = click.option(
    "--warehouse",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_WAREHOUSE,
    envvar="TAGWISE_WAREHOUSE",
    show_default=True,
    show_envvar=True,
    help="DuckDB warehouse file.",
)


def holds_warehouse(command: Callable) -> Callable:
    """A writing command holds the warehouse throughout; a second writer is refused (exit 1)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with WarehouseLock(kwargs["warehouse"]):
            return command(*args, **kwargs)

    return wrapper


class TagwiseGroup(click.Group):
    """The one place an error reaches a person: a TagwiseError's message, once, and its
    exit code (a lock held, a bad catalog, an unreadable file, a refused release)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TagwiseError as error:
            console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
            raise SystemExit(error.exit_code) from None


@click.group(cls=TagwiseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tagwise", message="%(prog)s %(version)s")
def main() -> None:
    """tagwise: customer features, governed tags and consent-safe segments."""


target_option = click.option(
    "--target",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    envvar="TAGWISE_TARGET",
    show_default=True,
    show_envvar=True,
    help="Engine: embedded DuckDB, or Spark (needs the spark extra; see the README).",
)


@main.command("generate")
@click.option("--customers", type=click.IntRange(min=1), required=True, help="Population size.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_LANDING,
    show_default=True,
)
@click.option(
    "--start",
    callback=_day,
    default=DEFAULT_START.isoformat(),
    show_default=True,
    help="First day of activity.",
)
@click.option(
    "--end",
    callback=_day,
    default=DEFAULT_END.isoformat(),
    show_default=True,
    help="Last day of activity.",
)
@click.option(
    "--since",
    callback=_day,
    default=None,
    help="Write only rows dated on or after this day (an increment).",
)
@click.option(
    "--dirty-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Share of rows to break, for quarantine testing.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
def generate_command(customers, seed, out, start, end, since, dirty_rate, fmt) -> None:
    """Write a deterministic synthetic data set in the landing layout."""
    try:
        config = GenerateConfig(customers, seed, out, start, end, dirty_rate, fmt, since)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    began = time.perf_counter()
    with console.status("generating") as status:
        rows = generate(config, progress=lambda text: status.update(f"generating: {text}"))
    table = Table("source", "rows", title=f"generated into {out}")
    for source, count in rows.items():
        table.add_row(source, f"{count:,}")
    console.print(table)
    console.print(f"{sum(rows.values()):,} rows in {time.perf_counter() - began:.1f} s")


verify_option = click.option(
    "--verify-content",
    is_flag=True,
    help="Read and hash files logged with the same name, size and time too (a corrected "
    "file copied with its time kept, as cp -p, rsync -t and tar do).",
)


@main.command("ingest")
@landing_option
@warehouse_option
@target_option
@verify_option
@holds_warehouse
def ingest_command(landing: Path, warehouse: Path, target: str, verify_content: bool) -> None:
    """Load new landing files into the raw layer; bad rows go to raw.quarantine."""
    began = time.perf_counter()

    def show(load: FileLoad) -> None:
        if load.skipped:
            console.print(f"[dim]{load.file}: skipped: {load.skip_reason}[/dim]")
        else:
            console.print(
                f"{load.file}: {load.rows_read:,} read, {load.rows_accepted:,} accepted, "
                f"{load.rows_quarantined:,} quarantined, {load.rows_duplicate:,} duplicates"
            )

    loads = ingest(landing, warehouse, progress=show, target=target, verify_content=verify_content)
    by_source = defaultdict(list)
    for load in loads:
        by_source[load.source].append(load)
    console.print(summary_table({name: load_totals(group) for name, group in by_source.items()}))
    console.print(f"loaded into {warehouse} in {time.perf_counter() - began:.1f} s")


def _check_catalogs() -> None:
    rules, definitions = check_catalogs()
    console.print(
        f"tag catalog: {rules} rules valid; segment catalog: {definitions} definitions valid"
    )


@main.command("check")
def check_command() -> None:
    """Validate the tag and segment catalogs against the taxonomy and the rule inputs."""
    _check_catalogs()


def _build(settings: DbtSettings, full_refresh: bool = False) -> float:
    """Build as of the settings' date (dbt, model, dbt); prints what ran; returns seconds."""
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


exports_option = click.option(
    "--exports",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("exports"),
    envvar="TAGWISE_EXPORTS",
    show_default=True,
    show_envvar=True,
    help="Folder for change sets and audience snapshots.",
)


def _show_sync(destination: str, sync: Sync | None) -> None:
    if sync is None:
        console.print(f"export {destination}: nothing new to send")
        return
    verb = "re-sent unacknowledged" if sync.resent else "wrote"
    console.print(
        f"export {destination}: {verb} sync {sync.sync_id}: {sync.adds:,} add, {sync.updates:,} update, "
        f"{sync.removes:,} remove -> {sync.files[0].parent}; acknowledge with `tagwise ack {sync.sync_id}`"
    )


@main.command("run")
@landing_option
@warehouse_option
@exports_option
@click.option(
    "--as-of", "as_of", callback=_day, default=None, help="As-of date D (default: today, UTC)."
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
    as_of = as_of or datetime.now(UTC).date()
    refuse_future(as_of, allow_future)
    refuse_collisions(warehouse, published_path(warehouse), exports, landing)
    # Before Dagster loads the dbt project, which renders the catalogs' text.
    _check_catalogs()
    from orchestration.run import run_pipeline  # imported here: Dagster is slow to import

    log = warehouse.parent / "logs" / f"run-{as_of}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"running the daily graph as of {as_of}; dbt's log: {log}")

    def show(step) -> None:
        mark = {"success": "[green]done[/green]", "failure": "[red]failed[/red]"}.get(
            step.status, "[yellow]skipped[/yellow]"
        )
        took = f" in {step.seconds:.1f} s" if step.seconds is not None else ""
        console.print(f"  {mark} {step.key}{took}")

    with log.open("w", encoding="utf-8") as dbt_log:
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
    _show_run(report, warehouse, log, target)


def _show_run(report, warehouse: Path, log: Path, target: str) -> None:
    if report.ingestion:
        console.print(summary_table(report.ingestion))
    if report.dbt_nodes_built:
        console.print(
            f"dbt: {report.dbt_nodes_built} models and seeds built; tests "
            f"{report.dbt_tests['passed']} passed, {report.dbt_tests['failed']} failed"
        )
    if report.gates:
        _show_run_gate(report.gates)
    if not report.success:
        for error in report.errors:
            console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        if not report.gate_passed:
            console.print(
                "[red]release stopped:[/red] nothing exported or published; the last good publish stands"
            )
        console.print(f"dbt's log: {log}")
        raise SystemExit(1)
    _show_warehouse(warehouse, target)
    _show_sync("email", _sync_from(report.export))
    console.print(f"published to {report.published['path']} (open it read-only from BI tools)")
    steps = Table("step", "seconds", title="time per step")
    for step in report.steps:
        steps.add_row(step.key, f"{step.seconds:.1f}" if step.seconds is not None else "-")
    console.print(steps)


def _sync_from(metadata: dict) -> Sync | None:
    """The export asset's metadata as the Sync it describes (None: nothing was new)."""
    if "adds" not in metadata:
        return None
    return Sync(
        metadata["sync"], "email", metadata["adds"], metadata["updates"], metadata["removes"],
        metadata["resent"], tuple(Path(f) for f in metadata["files"]),
    )  # fmt: skip


def _show_run_gate(gates: dict) -> None:
    failures = [
        ("failed" if gate["failed"] else "warning", f"{mart}: {line}")
        for mart, gate in gates.items()
        if gate["failures"] != "none"
        for line in gate["failures"].splitlines()
    ]
    _print_gate(
        sum(g["passed"] for g in gates.values()),
        sum(g["warned"] for g in gates.values()),
        sum(g["failed"] for g in gates.values()),
        next(iter(gates.values()))["data_docs"],
        failures,
    )


def _show_warehouse(warehouse: Path, target: str) -> None:
    table = Table("figure", "value", title="warehouse")
    for label, value in warehouse_summary(warehouse, target):
        table.add_row(label, f"{value:,}")
    console.print(table)
    tags = Table("tag", "customers", "note", title="tags")
    for tag, customers, note in tag_usage(warehouse, target):
        tags.add_row(tag, f"{customers:,}", note or "")
    console.print(tags)
    segments = Table("segment", "type", "members", title="segments")
    for segment, kind, members in segment_sizes(warehouse, target):
        segments.add_row(segment, kind, f"{members:,}")
    console.print(segments)


def _show_gate(gate: GateResult) -> None:
    _print_gate(
        sum(o.success for o in gate.outcomes),
        len(gate.warnings),
        len(gate.errors),
        gate.docs,
        [("failed", o.line()) for o in gate.errors]
        + [("warning", o.line()) for o in gate.warnings],
    )


def _print_gate(
    passed: int, warned: int, failed: int, docs, failures: list[tuple[str, str]]
) -> None:
    """The gate's counts, then each failed expectation marked failed (error) or warning."""
    console.print(
        f"quality gate: {passed} passed, {warned} warned, {failed} failed; data docs {docs}"
    )
    colours = {"failed": "red", "warning": "yellow"}
    for mark, line in failures:
        console.print(f"  [{colours[mark]}]{mark}[/{colours[mark]}] {line}")


@main.command("validate")
@warehouse_option
@exports_option
@target_option
@holds_warehouse
def validate_command(warehouse: Path, exports: Path, target: str) -> None:
    """Run the quality gate on the built warehouse (without releasing anything)."""
    gate = run_gate(warehouse, exports, GateSettings.from_env(), target=target)
    _show_gate(gate)
    if not gate.passed:
        raise SystemExit(1)


@main.command("export")
@warehouse_option
@exports_option
@click.option(
    "--destination", type=click.Choice(sorted(DESTINATIONS)), default="email", show_default=True
)
@target_option
@holds_warehouse
def export_command(warehouse: Path, exports: Path, destination: str, target: str) -> None:
    """Write the pending change set (and the full audience) for a destination."""
    copy_to_state(warehouse, target, export_inputs(destination))
    _show_sync(destination, export(warehouse, destination, exports))


@main.command("ack")
@click.argument("sync_id")
@warehouse_option
@holds_warehouse
def ack_command(sync_id: str, warehouse: Path) -> None:
    """Record that the destination applied a sync."""
    sync = acknowledge(warehouse, sync_id)
    if sync.acknowledged_before:
        console.print(f"{sync.sync_id} was already acknowledged; nothing changed")
        return
    console.print(f"acknowledged {sync.sync_id} ({sync.changes:,} changes)")


@main.command("backfill")
@warehouse_option
@click.option("--from", "first", callback=_day, required=True, help="First as-of date to replay.")
@click.option("--to", "last", callback=_day, required=True, help="Last as-of date to replay.")
@target_option
@click.option("--allow-future", is_flag=True, help="Allow as-of dates after today (UTC).")
@holds_warehouse
def backfill_command(
    warehouse: Path, first: date, last: date, target: str, allow_future: bool
) -> None:
    """Rebuild history from the start: every as-of date from --from to --to, oldest first.

    The first date is a full refresh, which drops the recorded history. The rebuilt dates
    count as released: the next run keeps their history."""
    if last < first:
        raise click.UsageError(f"--to {last} is before --from {first}")
    refuse_future(last, allow_future)
    _check_catalogs()
    day = first
    while day <= last:
        _build(
            DbtSettings(warehouse, day, target, allow_future=allow_future),
            full_refresh=day == first,
        )
        record_release(warehouse, day)
        day += timedelta(days=1)


@main.command("spark-stop")
@warehouse_option
def spark_stop_command(warehouse: Path) -> None:
    """Stop the local Spark Connect server of this warehouse's Spark folder (tables stay)."""
    settings = SparkSettings.for_warehouse(warehouse)
    stop_local_server(settings)
    console.print(f"no local Spark server runs for {settings.home} now")


@main.command("access-report")
@click.argument("identifier")
@warehouse_option
@exports_option
@click.option(
    "--as-of",
    "as_of",
    callback=_day,
    default=None,
    help="Only if the latest build is as of this date (default: the latest build, whatever its date).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="JSON file to write [default: <exports>/access-reports/<customer_key>-<D>.json, "
    "removed by the erasure pass if the person is erased].",
)
def access_report_command(
    identifier: str, warehouse: Path, exports: Path, as_of: date | None, out: Path | None
) -> None:
    """Write everything held about one person (any customer id or email ever held) as JSON,
    from the latest finished build."""
    refuse_collisions(warehouse, report=out)
    report = access_report(warehouse, identifier, as_of)
    key = report["customer_key"] or "not-found"
    path = write_report(report, out or access_report_path(exports, key, report["as_of_date"]))
    console.print(
        f"access report ({report['status']}) as of the build of {report['as_of_date']} "
        f"written to {path}"
    )


@main.command("evaluate-model")
@warehouse_option
@click.option(
    "--calibration-end", callback=_day, required=True, help="Fit on purchases up to this day."
)
@click.option(
    "--holdout-end",
    callback=_day,
    default=None,
    help="Compare up to this day [default: the build's as-of date].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("exports/model"),
    show_default=True,
)
def evaluate_model_command(
    warehouse: Path, calibration_end: date, holdout_end: date | None, out: Path
) -> None:
    """Fit on data up to a date and compare predicted with actual purchases after it."""
    try:
        result = evaluate(warehouse, calibration_end, out, holdout_end)
    except (NotEnoughData, ValueError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise SystemExit(1) from None
    console.print(
        f"holdout {result.calibration_end} to {result.holdout_end}: {result.customers:,} customers, "
        f"predicted {result.predicted_total:,.0f} purchases, actual {result.actual_total:,}; "
        f"per customer MAE {result.mean_absolute_error:.3f}, correlation {result.correlation:.3f}"
    )
    console.print(f"report: {result.files[0]}  per customer: {result.files[1]}")


@main.command("import-cdnow")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/cdnow/landing"),
    show_default=True,
)
def import_cdnow_command(source: Path, out: Path) -> None:
    """Convert the CDNOW transaction log (CDNOW_sample.txt or CDNOW_master.txt) to landing files."""
    written = write_landing(source, out)
    console.print(", ".join(f"{name}: {rows:,}" for name, rows in written.items()) + f" -> {out}")


@main.command("bench")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    multiple=True,
    default=(10_000, 100_000, 1_000_000),
    show_default=True,
    help="Population sizes, smallest first (repeat the option).",
)
@click.option(
    "--work",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/bench"),
    show_default=True,
    help="Scratch folder; each size's landing files and warehouse are removed after it.",
)
@click.option(
    "--results",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("bench/results"),
    show_default=True,
)
@click.option("--as-of", "as_of", callback=_day, default=DEFAULT_END.isoformat(), show_default=True)
@click.option("--keep", is_flag=True, help="Keep each size's landing files and warehouse.")
def bench_command(customers, work: Path, results: Path, as_of: date, keep: bool) -> None:
    """Time generate, a full run (per step), the floor query and a next-day refresh per size."""
    import shutil

    from tagwise.benchmark import TARGETS, run_scale, verdicts, write_result

    measured, failed = [], None
    for size in sorted(customers):
        folder = work / str(size)
        try:
            measured.append(run_scale(size, folder, as_of, progress=console.print))
        except RuntimeError as error:
            failed = {"customers": size, "error": str(error)}
            console.print(f"[red]error:[/red] {error}; its files are kept in {folder}")
            break
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    checks = verdicts(measured)
    path = write_result(
        results,
        "pipeline",
        {"benchmark": "pipeline", "targets": TARGETS, "results": measured, "meets": checks}
        | ({"failed": failed} if failed else {}),
    )
    table = Table(
        "customers", "rows", "generate", "ingest", "dbt", "model", "checks", "export", "publish",
        "full run", "floor", "dbt/floor", "refresh", "refresh/full", "peak GiB", title="seconds",
    )  # fmt: skip
    for r in measured:
        steps = r["full_run"]["steps"]
        peak = max(r["full_run"]["peak_rss_bytes"], r["refresh"]["peak_rss_bytes"]) / 2**30
        table.add_row(
            f"{r['customers']:,}", f"{sum(r['rows_generated'].values()):,}", f"{r['generate_seconds']:.1f}",
            *(f"{steps.get(k, 0):.1f}" for k in ("ingest", "dbt", "model", "checks", "export", "publish")),
            f"{r['full_run']['seconds']:.1f}", f"{r['floor_seconds']:.2f}", f"{r['dbt_to_floor_ratio']:.1f}",
            f"{r['refresh']['seconds']:.1f}", f"{r['refresh_share_of_full_run']:.0%}", f"{peak:.2f}",
        )  # fmt: skip
    # All fifteen columns, also when the output goes to a log.
    Console(stderr=True, width=200).print(table)
    for target, met in checks.items():
        console.print(f"{'meets' if met else '[red]misses[/red]'} {target} <= {TARGETS[target]}")
    console.print(f"results: {path}")
    if failed:
        raise SystemExit(1)


def summary_table(totals: dict[str, dict[str, int]]) -> Table:
    """Ingestion per source, from load_totals()."""
    table = Table(
        "source", "files", "skipped", "read", "accepted", "quarantined", "duplicates",
        title="ingestion (read = accepted + quarantined + duplicates)",
    )  # fmt: skip
    for source, row in totals.items():
        table.add_row(source, *(f"{row[k]:,}" for k in (
            "files", "files_skipped", "rows_read", "rows_accepted", "rows_quarantined", "rows_duplicate")))  # fmt: skip
    return table
