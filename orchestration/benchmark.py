"""A benchmark run at one population size: generate, a full run of the daily job, the
floor query, then a next-day refresh, each timed (`tagwise bench`, `make bench`)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from tagwise.orchestration.run import run_pipeline

from tagwise.activation.syncs import acknowledge
from tagwise.benchmark import (
    SLOWEST,
    PeakRss,
    floor_seconds,
    ingestion_floor_seconds,
)
from tagwise.contract import DEFAULT_HISTORY_YEARS
from tagwise.diff import diff
from tagwise.generator import GenerateConfig, generate
from tagwise.suggest import read_inputs, suggest


def step_category(step_key: str) -> str:
    """The part of the pipeline a Dagster step of the daily job belongs to."""
    if step_key.startswith("dbt_"):
        return "dbt"
    if step_key.endswith("great_expectations"):
        return "checks"
    if step_key.startswith("exports__"):  # the erasure pass and every destination
        return "export"
    return {
        "predictive_model": "model",
        "interests_model": "model",
        "published__marts": "publish",
    }.get(step_key, "ingest")


def destination_export_seconds(step_detail: dict[str, float]) -> dict:
    """Each destination's export step, and all of them as a multiple of the email export
    alone (the release before the destination catalog)."""
    exports = {
        key.removeprefix("exports__"): seconds
        for key, seconds in step_detail.items()
        if key.startswith("exports__") and key != "exports__erasure"
    }
    email = exports.get("email") or 0.0
    return {
        "seconds": exports,
        "all_to_email_ratio": round(sum(exports.values()) / email, 2) if email else None,
    }


def _timed_run(settings: dict[str, str], as_of: date, log: Path) -> dict:
    with PeakRss() as memory, log.open("w") as dbt_log:
        began = time.perf_counter()
        report = run_pipeline(settings, as_of, dbt_log=dbt_log)
        seconds = time.perf_counter() - began
    if not report.success:
        raise RuntimeError(f"the run failed ({log}): " + "; ".join(report.errors[:3]))
    slowest = sorted(report.dbt_node_seconds.items(), key=lambda item: -item[1])[:SLOWEST]
    steps: dict[str, float] = {}
    for step in report.steps:
        category = step_category(step.key)
        steps[category] = steps.get(category, 0.0) + (step.seconds or 0.0)
    return {
        "seconds": round(seconds, 2),
        "steps": {k: round(v, 2) for k, v in steps.items()},
        "step_detail": {s.key: round(s.seconds or 0.0, 2) for s in report.steps},
        "peak_rss_bytes": memory.peak,
        "rows_ingested": sum(s["rows_read"] for s in report.ingestion.values()),
        "rows_quarantined": sum(s["rows_quarantined"] for s in report.ingestion.values()),
        # Each destination's sync sent this run (not held, not unconfigured), to acknowledge.
        "syncs": {d: e["sync"] for d, e in report.exports.items() if e.get("held") is False},
        "dbt_slowest_nodes": {node: round(seconds, 2) for node, seconds in slowest},
        # Identity resolution (SPEC 3.1): its dbt models and their tests, and the identity
        # step when the catalog declares the probabilistic rule.
        "identity_seconds": round(
            sum(s for node, s in report.dbt_node_seconds.items() if "identity" in node), 2
        ),
        "identity_step_seconds": next(
            (
                round(s.seconds or 0.0, 2)
                for s in report.steps
                if s.key == "model__identity_matches"
            ),
            None,
        ),
    }


def history_start(as_of: date, years: int) -> date:
    """The first day of `years` years of history ending on D."""
    try:
        year_before = as_of.replace(year=as_of.year - years)
    except ValueError:  # 29 February
        year_before = as_of.replace(year=as_of.year - years, day=28)
    return year_before + timedelta(days=1)


def run_scale(
    customers: int, work: Path, as_of: date, years: int = DEFAULT_HISTORY_YEARS, progress=print
) -> dict:
    """Generate `years` of history, time the ingestion floor, run as of D, time the floor
    query and `tagwise diff`, then land one more day and refresh as of D+1."""
    shutil.rmtree(work, ignore_errors=True)
    landing, warehouse = work / "landing", work / "warehouse.duckdb"
    settings = {
        "landing": str(landing),
        "warehouse": str(warehouse),
        "exports": str(work / "exports"),
    }
    population = GenerateConfig(
        customers=customers, seed=7, out=landing, start=history_start(as_of, years), end=as_of
    )
    shown = f"{customers:,} customers, {years} years"
    progress(f"{shown}: generating")
    with PeakRss() as memory:
        began = time.perf_counter()
        rows = generate(population)
        generate_seconds = time.perf_counter() - began
    progress(f"{shown}: the ingestion floor")
    ingestion_floor = ingestion_floor_seconds(landing, work / "ingestion-floor.duckdb")
    progress(f"{shown}: full run as of {as_of}")
    full = _timed_run(settings, as_of, work / "full-run.log")
    full["peak_rss_bytes"] = max(full["peak_rss_bytes"], memory.peak)
    floor, floor_rows = floor_seconds(warehouse, as_of)
    progress(f"{shown}: tagwise diff of the catalogs as of {as_of}")
    began = time.perf_counter()
    diff(warehouse)
    diff_seconds = time.perf_counter() - began
    progress(f"{shown}: tagwise suggest as of {as_of}")
    with PeakRss() as suggest_memory:
        began = time.perf_counter()
        suggestions = suggest(read_inputs(warehouse, as_of))
        suggest_seconds = time.perf_counter() - began
    # Overnight each platform loads its sync and acknowledges it, as in the README.
    for sync_id in full["syncs"].values():
        acknowledge(warehouse, sync_id)
    next_day = as_of + timedelta(days=1)
    progress(f"{shown}: next-day refresh as of {next_day}")
    generate(replace(population, end=next_day, since=next_day))
    refresh = _timed_run(settings, next_day, work / "refresh.log")
    return {
        "customers": customers,
        "years": years,
        "as_of": as_of.isoformat(),
        "rows_generated": rows,
        "generate_seconds": round(generate_seconds, 2),
        "full_run": full,
        "floor_seconds": round(floor, 3),
        "floor_customers": floor_rows,
        "dbt_to_floor_ratio": round(full["steps"]["dbt"] / floor, 1),
        "ingestion_floor_seconds": round(ingestion_floor, 2),
        "ingest_to_floor_ratio": round(full["steps"]["ingest"] / ingestion_floor, 2),
        "destinations": destination_export_seconds(full["step_detail"]),
        "diff_seconds": round(diff_seconds, 2),
        "diff_share_of_full_run_dbt": round(diff_seconds / full["steps"]["dbt"], 3),
        "suggest": {
            "seconds": round(suggest_seconds, 2),
            "peak_rss_bytes": suggest_memory.peak,
            "suggestions": len(suggestions),
        },
        "suggest_share_of_full_run_dbt": round(suggest_seconds / full["steps"]["dbt"], 3),
        "refresh": refresh,
        "refresh_share_of_full_run": round(refresh["seconds"] / full["seconds"], 3),
        "refresh_to_floor_ratio": round(refresh["seconds"] / floor, 1),
        "warehouse_bytes": warehouse.stat().st_size,
    }
