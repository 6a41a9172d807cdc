"""History is part of the release (SPEC 3.4, 3.5): a run that is not released leaves no
trace in it.

dbt records the history tables as of D while it builds, before the gate has looked at the
build. The release records D in the quality source's `releases` once everything has been
published; before a run's dbt steps, every recorded date other than the run's own that was
never released (its gate failed, or the run was killed) is forgotten with everything after
it, the way the history models themselves rewind before recording D (macros/as_of.sql,
`history_intervals`): intervals that started on or after it go, intervals that ended on
or after it are open again.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from pathlib import Path

from tagwise.errors import TagwiseError
from tagwise.relations import create_source_tables, ref, source
from tagwise.warehouse import connect, existing_tables


# (table, start column, end column, columns set when an interval ends); an end column of
# None: rows are per as-of date.
@functools.cache
def history_tables():
    return (
        (ref("customer_tag_history"), "valid_from", "valid_to", ()),
        (ref("segment_membership_history"), "entered_on", "exited_on", ("exit_reason",)),
        (ref("segment_kpis"), "as_of_date", None, ()),
        (ref("audience_overlap"), "as_of_date", None, ()),
        (ref("history_as_of_dates"), "as_of_date", None, ()),
    )


class OlderAsOf(TagwiseError):
    """An as-of date before the latest released one."""


def latest_release(warehouse: Path) -> date | None:
    """The latest as-of date released from this DuckDB warehouse (None: none yet)."""
    if not warehouse.exists():
        return None
    with connect(warehouse, read_only=True) as con:
        tables = existing_tables(con)
        # A warehouse from before releases were recorded: what it recorded was released.
        for table in (source("quality", "releases"), ref("history_as_of_dates")):
            if table in tables:
                return con.execute(f"select max(as_of_date) from {table}").fetchone()[0]
    return None


def refuse_older(warehouse: Path, as_of: date) -> None:
    """A run as of a date before the latest release is refused before it starts. dbt's
    on-run-start hook (refuse_older_history_dates) refuses the same build for dbt run by
    hand and on Spark; this answers a DuckDB run at once, before anything slow is loaded."""
    latest = latest_release(warehouse)
    if latest is not None and latest > as_of:
        raise OlderAsOf(
            f"history already records as-of date {latest}; refusing to build as of the older "
            f"date {as_of}. Rebuild history from the start with "
            "`tagwise backfill --from DATE --to DATE --full-refresh`."
        )


def _prepare(con) -> None:
    create_source_tables(con, "quality")


def record_release(warehouse: Path, as_of: date) -> None:
    """The build as of `as_of` was released: its history stays."""
    with connect(warehouse) as con:
        _prepare(con)
        con.execute(
            f"insert into {source('quality', 'releases')} values (?, ?)",
            [as_of, datetime.now(UTC).replace(tzinfo=None)],
        )


def forget_unreleased(warehouse: Path, as_of: date) -> date | None:
    """Rewind history from the earliest recorded date, other than `as_of`, that was never
    released; returns that date, or None when there was none."""
    with connect(warehouse) as con:
        _prepare(con)
        tables = existing_tables(con)
        if ref("history_as_of_dates") not in tables:
            return None
        (since,) = con.execute(
            f"""
            select min(as_of_date) from {ref("history_as_of_dates")}
            where as_of_date <> $as_of
                and as_of_date not in (select as_of_date from {source("quality", "releases")})
            """,
            {"as_of": as_of},
        ).fetchone()
        if since is None:
            return None
        con.execute("begin transaction")
        for table, starts, ends, ending in history_tables():
            if table not in tables:
                continue
            con.execute(f"delete from {table} where {starts} >= ?", [since])
            if ends:
                # An interval open again has no end, nor the reason it ended (a warehouse
                # from before that column was added has none to clear).
                present = {
                    c
                    for (c,) in con.execute(
                        f"select column_name from (describe {table})"
                    ).fetchall()
                }
                cleared = ", ".join(f"{c} = null" for c in (ends, *ending) if c in present)
                con.execute(f"update {table} set {cleared} where {ends} >= ?", [since])
        con.execute("commit")
        return since
