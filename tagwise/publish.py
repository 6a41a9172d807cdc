"""Publishing for BI: the marts, copied into a separate DuckDB file that replaces the
previous publish in one atomic rename.

BI tools open the published file read-only while the next run writes the warehouse. A
run that fails before publishing, or while publishing, leaves the last good publish as
it was: the new copy is written beside it and only renamed over it once complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from tagwise.export import remove_unfinished_writes
from tagwise.ingest.validation import literal
from tagwise.paths import refuse_collisions
from tagwise.release import require_passed_gate
from tagwise.warehouse import connect

PUBLISHED_SCHEMAS = ("marts",)


def published_path(warehouse: Path) -> Path:
    """Default place of the publish: beside the warehouse."""
    return Path(os.environ.get("TAGWISE_PUBLISHED", warehouse.with_name("published.duckdb")))


def publish(warehouse: Path, target: Path) -> dict[str, int]:
    """Copy every table of the published schemas; returns rows per table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    refuse_collisions(warehouse, published=target)
    with connect(warehouse) as con:
        require_passed_gate(con)
    remove_unfinished_writes(target.parent, target.name)  # a killed publish's copy
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    copied: dict[str, int] = {}
    try:
        with duckdb.connect(str(partial)) as con:
            con.execute(f"attach {literal(warehouse)} as source (read_only)")
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
                tables = con.execute(
                    "select table_name from duckdb_tables() where database_name = 'source' and schema_name = ? "
                    "order by table_name",
                    [schema],
                ).fetchall()
                for (table,) in tables:
                    con.execute(
                        f'create table {schema}."{table}" as select * from source.{schema}."{table}"'
                    )
                    copied[f"{schema}.{table}"] = con.execute(
                        f'select count(*) from {schema}."{table}"'
                    ).fetchone()[0]
            con.execute("detach source")
            con.execute("checkpoint")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return copied
