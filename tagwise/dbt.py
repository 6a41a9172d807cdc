"""Running the dbt project from Python: arguments and environment as small pure functions."""

from __future__ import annotations

import functools
import gc
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from tagwise import project
from tagwise.dbt_project import PROJECT_DIR, SEEDS_DIR
from tagwise.errors import TagwiseError
from tagwise.spark import SparkSettings, session

# tagwise's own parse of the project, in a folder no dbt invocation writes: a run's dbt
# rewrites target/manifest.json in place, and another process reading it then could see
# half a file.
MANIFEST = PROJECT_DIR / "target" / "tagwise" / "manifest.json"


def _newest_source_change() -> float:
    """The newest modification time of the project's own files. What dbt writes (target,
    logs) is never entered: another process's dbt creates and removes run folders there
    while this one looks (a README demo beside a running test failed on one)."""
    newest = 0.0
    for root in (PROJECT_DIR, SEEDS_DIR):
        for folder, folders, names in os.walk(root):
            folders[:] = [name for name in folders if name not in project.GENERATED]
            for name in names:
                try:
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
                except FileNotFoundError:  # removed while we looked: not a source file
                    continue
    return newest


def manifest_path() -> Path:
    """The manifest, parsed again when any project file or seed is newer than it."""
    from tagwise.catalog import check_catalogs  # imported here: sqlglot is slow to import

    # dbt renders the catalogs' text while it parses: it must see only checked text.
    check_catalogs()
    if not MANIFEST.exists() or MANIFEST.stat().st_mtime < _newest_source_change():
        MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        # Each parse writes a folder of its own and moves the manifest into place whole:
        # processes parsing at once never read each other's half-written file.
        with tempfile.TemporaryDirectory(dir=MANIFEST.parent, prefix=".parse-") as folder:
            # Parsing needs no warehouse; an in-memory one keeps the real file free. The
            # dbt beside this Python runs, whatever PATH says.
            parsed = subprocess.run(
                [str(Path(sys.executable).with_name("dbt")), "parse", "--quiet",
                 "--target-path", folder],
                cwd=PROJECT_DIR, env=os.environ | {"TAGWISE_WAREHOUSE": ":memory:"},
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if parsed.returncode != 0:
                raise DbtError(f"dbt parse failed:\n{parsed.stdout}{parsed.stderr}")
            os.replace(Path(folder) / "manifest.json", MANIFEST)
    return MANIFEST


@functools.cache
def manifest() -> dict:
    """The parsed dbt project: its models, seeds, sources, tests and exposures."""
    return json.loads(manifest_path().read_text())


# Scheduled and demo runs leave dbt unit tests to development and CI.
PRODUCTION_EXCLUDE = "test_type:unit"


class DbtError(TagwiseError):
    """dbt failed; the message lists the nodes that failed and why."""


class FutureAsOf(TagwiseError):
    """An as-of date after today (UTC)."""


def refuse_future(as_of: date) -> None:
    """A run as of a day that has not begun would record history ahead of every later
    daily run (each would be refused as older). Dagster's daily partitions end today too."""
    today = datetime.now(UTC).date()
    if as_of > today:
        raise FutureAsOf(
            f"as-of date {as_of} is after today ({today}, UTC): history cannot be recorded "
            "for a day that has not begun, and the daily partitions end today"
        )


@dataclass(frozen=True)
class DbtSettings:
    warehouse: Path
    as_of: date
    target: str = "duckdb"
    project_dir: Path = PROJECT_DIR

    def env(self) -> dict[str, str]:
        """Environment that profiles.yml reads, from tagwise.settings (its defaults there
        serve dbt run by hand); paths are absolute so any cwd works."""
        from tagwise.settings import current

        settings = current()
        values = {
            # D reaches dbt here, not as --vars: a new date then keeps dbt's partial parse
            # (macros/as_of.sql reads it only while executing).
            "TAGWISE_AS_OF_DATE": self.as_of.isoformat(),
            "TAGWISE_WAREHOUSE": str(self.warehouse.resolve()),
            "TAGWISE_TARGET": self.target,
            "TAGWISE_THREADS": str(settings.threads),
            "TAGWISE_MEMORY_LIMIT": settings.memory_limit,
            "TAGWISE_TEMP_DIR": settings.temp_dir,
        }
        if self.target == "spark":
            values |= SparkSettings.for_warehouse(self.warehouse).env()
        return values

    def run_flags(self) -> list[str]:
        """The flags every invocation of a run shares: the target (the as-of date is in
        env())."""
        return ["--target", self.target]

    def args(
        self,
        command: str,
        select: str | None = None,
        quiet: bool = False,
        full_refresh: bool = False,
        exclude: str | None = None,
    ) -> list[str]:
        """Command-line arguments of one dbt invocation."""
        args = [
            *(["--quiet"] if quiet else []),
            command,
            "--project-dir",
            str(self.project_dir),
            "--profiles-dir",
            str(self.project_dir),
            *self.run_flags(),
        ]
        if full_refresh:
            args.append("--full-refresh")
        if select:
            args += ["--select", select]
        if exclude:
            args += ["--exclude", exclude]
        return args


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _release_warehouse(target: str) -> None:
    """dbt-duckdb keeps its DuckDB instance open for the life of the process; drop it so
    that the file can be opened again (read-only, or by another process) once dbt is done."""
    if target != "duckdb":
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    # close_all_connections only forgets the environment; anything still referring to it
    # (once, in a full test run, enough to fail the next read-only open) kept the file
    # open until collected. Its connection is closed here instead.
    dbt_environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()
    if dbt_environment is not None:
        dbt_environment.close()
    gc.collect()


def progress_callback(on_progress: Callable[[int, int], None]) -> Callable:
    """A dbt event callback calling `on_progress(finished, total)` as each node of the
    invocation finishes (total: the nodes dbt queued, from its start lines)."""
    seen = {"finished": 0, "total": 0}

    def callback(event) -> None:
        name = event.info.name
        if name == "LogStartLine":
            seen["total"] = max(seen["total"], event.data.total)
        elif name == "NodeFinished":
            seen["finished"] += 1
            on_progress(seen["finished"], max(seen["total"], seen["finished"]))

    return callback


def run_dbt(
    settings: DbtSettings,
    command: str = "build",
    select: str | None = None,
    quiet: bool = False,
    full_refresh: bool = False,
    exclude: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
):
    """Invoke dbt in process; returns dbt's result, raises DbtError naming what failed.
    `on_progress(finished, total)` hears of each node as it finishes."""
    from dbt.cli.main import dbtRunner  # imported here: dbt is slow to import

    from tagwise.catalog import check_catalogs  # imported here: sqlglot is slow to import

    check_catalogs(settings.project_dir)
    refuse_future(settings.as_of)
    if settings.target == "spark":
        # Started with tagwise's settings before dbt connects (see tagwise.spark).
        session(SparkSettings.for_warehouse(settings.warehouse))
    with environment(settings.env()):
        try:
            callbacks = [progress_callback(on_progress)] if on_progress else []
            result = dbtRunner(callbacks=callbacks).invoke(
                settings.args(command, select, quiet, full_refresh, exclude)
            )
        finally:
            _release_warehouse(settings.target)
    if result.success:
        return result
    if result.exception is not None:
        raise DbtError(f"dbt {command} could not run: {result.exception}")
    failed = [
        f"{r.node.name}: {r.status}: {(r.message or '').strip()}"
        for r in (result.result or [])
        if str(r.status) in {"error", "fail", "runtime error"}
    ]
    raise DbtError(f"dbt {command} failed:\n  " + "\n  ".join(failed or ["see dbt's log above"]))


def node_counts(result) -> dict[str, dict[str, int]]:
    """{resource type: {status: count}} of one dbt invocation, e.g. {"model": {"success": 28}}."""
    counts: dict[str, dict[str, int]] = {}
    for node_result in result.result or []:
        kind = str(node_result.node.resource_type)
        status = str(node_result.status)
        counts.setdefault(kind, {}).setdefault(status, 0)
        counts[kind][status] += 1
    return counts
