"""The daily asset graph executed in this process, as `tagwise run` and `tagwise backfill`
do: no web server, the same assets, checks and order as a scheduled run, one partition (as-of
date) per run, with each step reported as it ends."""

import json
import os
import re
import uuid
from collections.abc import Callable
from contextlib import nullcontext, redirect_stdout
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from dagster import AssetCheckSeverity, AssetKey, DagsterEventType, DagsterInstance, EventLogEntry
from tagwise.orchestration.definitions import defs
from tagwise.orchestration.export.assets import ERASURE, PUBLISHED
from tagwise.orchestration.ingest.assets import raw_key
from tagwise.orchestration.jobs import BUILD_AS_OF, daily_refresh
from tagwise.orchestration.quality.checks import CHECK_NAME
from tagwise.orchestration.resources import run_config

from tagwise.contract import SOURCES


@dataclass(frozen=True)
class Step:
    key: str
    status: str  # success, failure or skipped
    seconds: float | None


@dataclass
class RunReport:
    run_id: str
    as_of: date
    success: bool = False
    steps: list[Step] = field(default_factory=list)
    ingestion: dict[str, dict[str, Any]] = field(default_factory=dict)
    dbt_nodes_built: int = 0
    # A test at warn severity that found rows is "warned", not "failed": it stops nothing.
    dbt_tests: dict[str, int] = field(
        default_factory=lambda: {"passed": 0, "warned": 0, "failed": 0}
    )
    # The names of the tests that warned (the model's gate warns this way, by name).
    dbt_warnings: list[str] = field(default_factory=list)
    # Seconds per dbt model, seed and test, from dbt's own timing (dbt runs two at a time).
    dbt_node_seconds: dict[str, float] = field(default_factory=dict)
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The model step's tables (model.<table>) and their metadata: what each fit says of itself.
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per destination, its export asset's metadata (a destination absent did not run).
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    # Each failure in full (Dagster's wrapper, the cause, the stack), for the run's log.
    error_details: list[str] = field(default_factory=list)
    log: Path | None = None  # where the caller kept dbt's output

    @property
    def gate_passed(self) -> bool:
        return all(g["failed"] == 0 for g in self.gates.values())

    def to_json(self) -> str:
        """Every field, dates and paths as text."""
        return json.dumps(asdict(self), default=str, indent=2)


def root_cause(error) -> str:
    """The innermost cause of a Dagster error as one sentence: a TagwiseError's message
    as it is, anything else as its class name and the first line of its message."""
    while error.cause is not None or error.context is not None:
        error = error.cause or error.context
    message = error.message.strip()
    if error.cls_name and message.startswith(f"{error.cls_name}:"):
        message = message[len(error.cls_name) + 1 :].strip()
    if error.cls_name == "Failure" or _is_tagwise_error(error.cls_name):
        return message
    # dagster-dbt names the command first and dbt's own errors after this heading.
    message = message.split("Errors parsed from dbt logs:")[-1]
    first = " ".join(line.strip() for line in message.splitlines() if line.strip())
    if error.cls_name == "DagsterDbtCliRuntimeError":
        # A project macro's refusal is the sentence between dbt's "where" and "called by".
        first = first.removeprefix("Encountered an error:").strip()
        refusal = DBT_REFUSAL.fullmatch(first)
        return refusal.group(1) if refusal else f"dbt: {first}"
    return f"{error.cls_name}: {first}" if error.cls_name else first


DBT_REFUSAL = re.compile(r"Compilation Error in \w+ \S+ \([^)]*\) (.+?)(?: > in macro .*)?")


def _is_tagwise_error(name: str | None) -> bool:
    from tagwise import errors

    return bool(name) and any(cls.__name__ == name for cls in _subclasses(errors.TagwiseError))


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def _metadata(entries) -> dict[str, Any]:
    return {name: value.value for name, value in entries.items()}


DBT_PROGRESS = re.compile(r"dbt: (\d+) of (\d+) built")


class _Recorder:
    """Turns the run's events into a RunReport and tells the caller as each step ends."""

    def __init__(
        self,
        report: RunReport,
        on_step: Callable[[Step], None],
        on_progress: Callable[[str, int, int], None] = lambda step, done, total: None,
    ):
        self.report = report
        self.on_step = on_step
        self.on_progress = on_progress
        self.started: dict[str, float] = {}
        self.raw_sources = {raw_key(s): s.name for s in SOURCES}

    def __call__(self, entry: EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            # A dbt step's `dbt: n of N built` (orchestration/dbt/assets.py) as it goes.
            found = DBT_PROGRESS.match(entry.user_message or "")
            if found and entry.step_key:
                self.on_progress(entry.step_key, int(found[1]), int(found[2]))
            return
        kind, step = event.event_type, event.step_key
        if kind == DagsterEventType.STEP_START:
            self.started[step] = entry.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            status = "success" if kind == DagsterEventType.STEP_SUCCESS else "failure"
            self._step(
                Step(step, status, entry.timestamp - self.started.get(step, entry.timestamp))
            )
        elif kind == DagsterEventType.STEP_SKIPPED:
            self._step(Step(step, "skipped", None))
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            self._materialized(event.event_specific_data.materialization)
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            self._checked(event.event_specific_data)
        error = getattr(event.event_specific_data, "error", None)
        # A failure is reported once, as its cause (Dagster wraps it in "Error occurred
        # while executing op ..."): the run's own failure event repeats a step's, and
        # counts only when no step failed (a resource that could not start, say).
        if error is not None and (step is not None or not self.report.errors):
            where = step or "run"
            self.report.errors.append(f"{where}: {root_cause(error)}")
            self.report.error_details.append(f"{where}:\n{error.to_string()}")

    def _step(self, step: Step) -> None:
        self.report.steps.append(step)
        self.on_step(step)

    def _materialized(self, materialization) -> None:
        key: AssetKey = materialization.asset_key
        metadata = _metadata(materialization.metadata)
        if key in self.raw_sources:
            self.report.ingestion[self.raw_sources[key]] = metadata
        elif key.path[0] == "exports" and key != ERASURE:  # a destination's export
            self.report.exports[key.path[-1]] = metadata
        elif key == PUBLISHED:
            self.report.published = metadata
        elif "unique_id" in metadata:  # dbt's
            self.report.dbt_nodes_built += 1
            self._timed(key.path[-1], metadata)
        elif key.path[0] == "model":
            self.report.models[key.path[-1]] = metadata

    def _checked(self, evaluation) -> None:
        if evaluation.check_name == CHECK_NAME:
            self.report.gates[evaluation.asset_key.path[-1]] = _metadata(evaluation.metadata)
        else:
            outcome = (
                "passed"
                if evaluation.passed
                else "warned"
                if evaluation.severity == AssetCheckSeverity.WARN
                else "failed"
            )
            self.report.dbt_tests[outcome] += 1
            if outcome == "warned":
                self.report.dbt_warnings.append(evaluation.check_name)
            self._timed(evaluation.check_name, _metadata(evaluation.metadata))

    def _timed(self, node: str, metadata: dict[str, Any]) -> None:
        if "Execution Duration" in metadata:
            self.report.dbt_node_seconds[node] = metadata["Execution Duration"]


def run_pipeline(
    settings: dict[str, Any],
    as_of: date,
    on_step: Callable[[Step], None] = lambda step: None,
    dbt_log: TextIO | None = None,
    job: str = daily_refresh.name,
    instance: DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
    on_progress: Callable[[str, int, int], None] = lambda step, done, total: None,
) -> RunReport:
    """Run partition `as_of` of a job (the daily one unless named) with these
    TagwiseSettings values, e.g. {"warehouse": "w.duckdb"}, in `instance` if given.
    dbt's output (which dagster-dbt echoes to stdout) goes to dbt_log when given."""
    # With DAGSTER_HOME set (as `make demo` and `make dagster` set it) the run is recorded
    # where the Dagster UI shows it; otherwise it leaves no trace beside the run log.
    if instance is None:
        instance = (
            DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
        )
    report = RunReport(str(uuid.uuid4()), as_of)
    instance.add_event_listener(report.run_id, _Recorder(report, on_step, on_progress))
    with redirect_stdout(dbt_log) if dbt_log else nullcontext():
        result = (
            defs()
            .resolve_job_def(job)
            .execute_in_process(
                run_config=run_config(**settings)
                # The CLI shows its own progress; Dagster's log lines would bury it.
                | {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                instance=instance,
                partition_key=as_of.isoformat(),
                tags=tags,
                raise_on_error=False,
                run_id=report.run_id,
            )
        )
    report.success = result.success
    return report


BACKFILL_TAG = "tagwise/backfill"


def run_backfill(
    settings: dict[str, Any],
    first: date,
    last: date,
    full_refresh: bool = False,
    on_run: Callable[[date], None] = lambda day: None,
    **run_options: Any,
) -> list[RunReport]:
    """The daily job over the partitions first..last, oldest first, one run each, all
    tagged with one backfill id: each date is ingested, built, gated, exported and
    published as its daily run would be. The first run is a full refresh when asked (a
    replay of history). A failed date ends the backfill: the later ones would be built
    on a release that did not happen."""
    backfill_id = uuid.uuid4().hex[:8]
    reports: list[RunReport] = []
    day = first
    while day <= last:
        on_run(day)
        report = run_pipeline(
            settings | {"full_refresh": full_refresh and day == first},
            day,
            tags={BACKFILL_TAG: backfill_id},
            **run_options,
        )
        reports.append(report)
        if not report.success:
            break
        day += timedelta(days=1)
    return reports


def build_as_of(
    warehouse: Path, as_of: date, target: str = "duckdb", full_refresh: bool = False
) -> RunReport:
    """Partition `as_of` of the build_as_of job: dbt and the model on the raw tables as they
    are, nothing ingested or released (the next run forgets its history unless the date is
    released)."""
    return run_pipeline(
        {"warehouse": str(warehouse), "target": target, "full_refresh": full_refresh},
        as_of,
        job=BUILD_AS_OF,
    )
