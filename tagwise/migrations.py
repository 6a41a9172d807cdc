"""Warehouse upgrades: numbered steps, each applied once and in order, and recorded.

A warehouse written by an earlier release of tagwise is brought to this release's shapes
before anything writes it: every writer (a run, through its Dagster resource, and each
writing command) calls `upgrade` right after taking the warehouse's lock. A new warehouse
records every step as applied: its tables are created in today's shapes.

A step changes what a table that already exists holds or how it is shaped; tables that do
not exist yet are left to the code that creates them. A step never reads a catalog: what
it changes is the same for every deployment. Add one by appending to STEPS with the next
number, and a test in tests/test_migrations.py that upgrades the shape before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tagwise.activation.changes import audience_changes, create_state_tables
from tagwise.contract import SOURCES, Kind
from tagwise.errors import TagwiseError
from tagwise.ingest.validation import DUCKDB, column_type, literal
from tagwise.relations import create_source_tables, ref, source
from tagwise.warehouse import connect, existing_tables


@dataclass(frozen=True)
class Step:
    version: int
    does: str  # what the step changes, as the upgrade reports it
    apply: Callable[[duckdb.DuckDBPyConnection, set[str]], None]  # (connection, tables)


def _load_log_modified_at(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    load_log = source("ingestion", "load_log")
    if load_log in tables:
        con.execute(f"alter table {load_log} add column if not exists modified_at timestamp")


def _raw_decimals_widened(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    for raw in SOURCES:
        if f"raw.{raw.name}" not in tables:
            continue
        for column in raw.columns:
            if column.kind != Kind.DECIMAL:
                continue
            (scale,) = con.execute(
                "select coalesce(max(numeric_scale), -1) from information_schema.columns "
                f"where table_schema = 'raw' and table_name = {literal(raw.name)} "
                f"and column_name = {literal(column.name)}"
            ).fetchall()[0]
            if 0 <= scale < column.scale:
                con.execute(
                    f"alter table raw.{DUCKDB.q(raw.name)} alter column "
                    f"{DUCKDB.q(column.name)} type {column_type(column, DUCKDB)}"
                )


def _erasures_hashed(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    erasures_applied = source("export", "erasures_applied")
    if erasures_applied not in tables:
        return
    for statement in (
        f"alter table {erasures_applied} add column if not exists email_sha256 varchar",
        f"update {erasures_applied} set email_sha256 = sha256(email), email = null "
        "where email is not null",
        # Before keys other than addresses, the address's hash was the key's.
        f"alter table {erasures_applied} add column if not exists key_sha256 varchar",
        f"update {erasures_applied} set key_sha256 = email_sha256 where key_sha256 is null",
    ):
        con.execute(statement)


def _releases_recorded(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    if source("quality", "releases") in tables:
        return
    create_source_tables(con, "quality")
    if ref("history_as_of_dates") in tables:
        # Before releases were recorded, every recorded date had been released.
        con.execute(
            f"insert into {source('quality', 'releases')} select as_of_date, recorded_at "
            f"from {ref('history_as_of_dates')}"
        )


OLD_CHANGES_SUFFIX = "_audience_changes"


def _per_destination_changes(destination: str) -> str:
    """Where releases before step 6 kept a destination's change sets."""
    return f'marts."{destination}{OLD_CHANGES_SUFFIX}"'


def _pending_changes_kept(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    """A pending sync written before its changes were also kept as unacknowledged."""
    if source("export", "syncs") not in tables:
        return
    create_state_tables(con)
    pending = con.execute(
        f"select distinct destination from {source('export', 'syncs')} where status = 'pending' "
        f"and destination not in (select destination from {source('export', 'unacknowledged_changes')})"
    ).fetchall()
    for (destination,) in pending:
        if f"marts.{destination}{OLD_CHANGES_SUFFIX}" not in tables:
            continue
        con.execute(
            f"""
            insert into {source("export", "unacknowledged_changes")}
            select $destination, sync_id, key, change, payload
            from {_per_destination_changes(destination)}
            where sync_id in (
                select sync_id from {source("export", "syncs")}
                where destination = $destination and status = 'pending')
            """,
            {"destination": destination},
        )


def _changes_in_one_table(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    """Each destination's marts.<destination>_audience_changes moves into the one declared
    change feed (the dbt source activation.audience_changes), with the destination's name
    on its rows. They are known by name and shape: a destination that never synced had
    one too, empty."""
    old = [
        table.removeprefix("marts.").removesuffix(OLD_CHANGES_SUFFIX)
        for table in sorted(tables)
        if table.startswith("marts.") and table.endswith(OLD_CHANGES_SUFFIX)
    ]
    for destination in old:
        columns = [
            name
            for (name,) in con.execute(
                f"select column_name from (describe {_per_destination_changes(destination)})"
            ).fetchall()
        ]
        if not destination or columns != ["sync_id", "key", "change", "payload"]:
            continue
        create_state_tables(con)
        con.execute(
            f"insert into {audience_changes()} select {literal(destination)}, "
            f"sync_id, key, change, payload from {_per_destination_changes(destination)}"
        )
        con.execute(f"drop table {_per_destination_changes(destination)}")


STEPS = (
    Step(1, "load logs record each file's modification time", _load_log_modified_at),
    Step(2, "raw decimal columns take the decimals the contract declares", _raw_decimals_widened),
    Step(3, "erasures are kept as hashes of the erased keys", _erasures_hashed),
    Step(4, "releases are recorded (earlier as-of dates count as released)", _releases_recorded),
    Step(5, "a pending sync's changes are kept until acknowledged", _pending_changes_kept),
    Step(
        6,
        "every destination's change sets are in one table (was one table per destination)",
        _changes_in_one_table,
    ),
)
LATEST = STEPS[-1].version


def upgrade(warehouse: Path, create: bool = False) -> list[Step]:
    """Apply the steps this warehouse has not recorded, each in a transaction of its own;
    returns them. A warehouse that does not exist is created (and records every step)
    only when `create` says so: a run creates its warehouse, a command refuses a missing one."""
    if not (create or warehouse.is_file()):
        return []
    with connect(warehouse) as con:
        return upgrade_connection(con)


def upgrade_connection(con: duckdb.DuckDBPyConnection) -> list[Step]:
    """upgrade's work on an open connection; a new warehouse's steps are recorded and not
    returned (there was nothing to upgrade)."""
    new = not existing_tables(con)
    create_source_tables(con, "warehouse")
    recorded = source("warehouse", "schema_migrations")
    applied = {version for (version,) in con.execute(f"select version from {recorded}").fetchall()}
    newer = sorted(applied - {step.version for step in STEPS})
    if newer:
        raise TagwiseError(
            f"the warehouse records upgrade step {newer[-1]}, newer than this tagwise knows "
            f"(up to {LATEST}): it was written by a later release; use that release or newer"
        )
    done = []
    for step in STEPS:
        if step.version in applied:
            continue
        con.execute("begin transaction")
        step.apply(con, existing_tables(con))
        con.execute(
            f"insert into {recorded} values (?, ?, ?)",
            [step.version, step.does, datetime.now(UTC).replace(tzinfo=None)],
        )
        con.execute("commit")
        done.append(step)
    return [] if new else done


def describe(steps: list[Step]) -> str:
    """What an upgrade did, in one line."""
    return "warehouse upgraded: " + "; ".join(f"step {s.version}, {s.does}" for s in steps)
