"""Nothing leaves a build that did not pass the gate.

Every gate run records, per guarded mart, whether the build it validated passed (the
quality source's `gate_verdicts`, keyed by the build's dbt invocation). Export and publish
check that the build they would release passed on every guarded mart, whichever command
or job calls them, so `tagwise export` after a failed run refuses instead of sending.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import duckdb

from tagwise.errors import TagwiseError
from tagwise.relations import create_source_tables, ref, source


@functools.cache
def build_sql():
    return f"select dbt_invocation_id, as_of_date from {ref('build_info')}"


class ReleaseRefused(TagwiseError):
    """The build did not pass the gate; nothing of it may leave."""


def record_verdicts(con: duckdb.DuckDBPyConnection, build: tuple, passed: dict[str, bool]) -> None:
    """The gate's verdict per mart on the build (dbt invocation id, as-of date)."""
    create_source_tables(con, "quality")
    now = datetime.now(UTC).replace(tzinfo=None)
    con.executemany(
        f"insert into {source('quality', 'gate_verdicts')} values (?, ?, ?, ?, ?)",
        [(build[0], build[1], mart, ok, now) for mart, ok in sorted(passed.items())],
    )


def require_passed_gate(con: duckdb.DuckDBPyConnection) -> None:
    """Raise ReleaseRefused unless the latest gate verdict on the built marts' build
    passed for every guarded mart."""
    from tagwise.expectations.suites import GUARDED_MARTS  # Great Expectations is slow to import

    create_source_tables(con, "quality")
    build_id, as_of = con.execute(build_sql()).fetchone()
    latest = dict(
        con.execute(
            f"""
            select mart, arg_max(passed, validated_at) from {source("quality", "gate_verdicts")}
            where build_id = ? group by mart
            """,
            [build_id],
        ).fetchall()
    )
    failed = [m for m in GUARDED_MARTS if latest.get(m) is False]
    unchecked = [m for m in GUARDED_MARTS if m not in latest]
    if failed or unchecked:
        problems = [f"failed on {', '.join(failed)}"] if failed else []
        problems += [f"never validated {', '.join(unchecked)}"] if unchecked else []
        raise ReleaseRefused(
            f"the build as of {as_of} did not pass the quality gate ({'; '.join(problems)}): "
            "nothing is exported or published; fix the cause and run again, or "
            "`tagwise validate` to gate this build"
        )
