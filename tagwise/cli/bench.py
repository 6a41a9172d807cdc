"""`tagwise bench`: the pipeline's speed and memory per population size."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from tagwise.cli.options import console, parse_day
from tagwise.contract import DEFAULT_END, DEFAULT_HISTORY_YEARS


@click.command("bench")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    multiple=True,
    default=(10_000, 100_000, 1_000_000),
    show_default=True,
    help="Population sizes, smallest first (repeat the option).",
)
@click.option(
    "--years",
    type=click.IntRange(min=1),
    multiple=True,
    default=(DEFAULT_HISTORY_YEARS,),
    show_default=True,
    help="Years of history each size is generated with (repeat the option: a longer one "
    "measures how the refresh grows with history).",
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
@click.option(
    "--as-of", "as_of", callback=parse_day, default=DEFAULT_END.isoformat(), show_default=True
)
@click.option("--keep", is_flag=True, help="Keep each size's landing files and warehouse.")
def bench_command(customers, years, work: Path, results: Path, as_of: date, keep: bool) -> None:
    """Time generate, the ingestion floor, a full run (per step), the floor query, `tagwise
    diff`, `tagwise suggest` and a next-day refresh per size and history length; the full
    run's interests step is timed on its own."""
    import shutil

    from tagwise.benchmark import (
        TARGETS,
        history_growth,
        interests_seconds,
        verdicts,
        write_result,
    )
    from tagwise.orchestration.benchmark import run_scale

    measured, failed = [], None
    for size in sorted(customers):
        for length in sorted(years):
            folder = work / f"{size}-{length}y"
            try:
                measured.append(run_scale(size, folder, as_of, length, progress=console.print))
            except RuntimeError as error:
                failed = {"customers": size, "years": length, "error": str(error)}
                console.print(f"[red]error:[/red] {error}; its files are kept in {folder}")
                break
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
        if failed:
            break
    checks = verdicts(measured)
    path = write_result(
        results,
        "pipeline",
        {"benchmark": "pipeline", "targets": TARGETS, "results": measured, "meets": checks}
        | ({"failed": failed} if failed else {}),
    )
    table = Table(
        "customers", "years", "rows", "generate", "ingest", "ingest floor", "ingest/floor", "dbt",
        "model", "checks", "export", "publish", "full run", "floor", "dbt/floor", "refresh",
        "refresh/floor", "history growth", "diff/dbt", "suggest", "suggest/dbt", "interests",
        "all dest./email", "identity", "peak GiB",
        title="seconds",
    )  # fmt: skip
    default = {r["customers"]: r for r in measured if r["years"] == DEFAULT_HISTORY_YEARS}
    for r in measured:
        steps = r["full_run"]["steps"]
        peak = max(r["full_run"]["peak_rss_bytes"], r["refresh"]["peak_rss_bytes"]) / 2**30
        shorter = default.get(r["customers"])
        grown = (
            history_growth(shorter, r) if shorter and r["years"] > DEFAULT_HISTORY_YEARS else None
        )
        table.add_row(
            f"{r['customers']:,}", str(r["years"]), f"{sum(r['rows_generated'].values()):,}",
            f"{r['generate_seconds']:.1f}", f"{steps.get('ingest', 0):.1f}",
            f"{r['ingestion_floor_seconds']:.1f}", f"{r['ingest_to_floor_ratio']:.2f}",
            *(f"{steps.get(k, 0):.1f}" for k in ("dbt", "model", "checks", "export", "publish")),
            f"{r['full_run']['seconds']:.1f}", f"{r['floor_seconds']:.2f}", f"{r['dbt_to_floor_ratio']:.1f}",
            f"{r['refresh']['seconds']:.1f}", f"{r['refresh_to_floor_ratio']:.1f}",
            "" if grown is None else f"{grown:.2f}", f"{r['diff_share_of_full_run_dbt']:.2f}",
            f"{r['suggest']['seconds']:.1f}", f"{r['suggest_share_of_full_run_dbt']:.2f}",
            f"{interests_seconds(r) or 0:.1f}",
            f"{r['destinations']['all_to_email_ratio'] or 0:.1f}",
            f"{r['full_run'].get('identity_seconds', 0):.1f}", f"{peak:.2f}",
        )  # fmt: skip
    # Every column, also when the output goes to a log.
    Console(stderr=True, width=260).print(table)
    for target, met in checks.items():
        console.print(f"{'meets' if met else '[red]misses[/red]'} {target} <= {TARGETS[target]}")
    console.print(f"results: {path}")
    if failed:
        raise SystemExit(1)
