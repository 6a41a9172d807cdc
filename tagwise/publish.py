"""Publishing for BI: the marts, copied into a separate DuckDB file that replaces the
previous publish in one atomic rename.

BI tools open the published file read-only while the next run writes the warehouse. A
run that fails before publishing, or while publishing, leaves the last good publish as
it was: the new copy is written beside it and only renamed over it once complete.

The copy is written in DuckDB 1.1's storage format, which every DuckDB from 1.1 on opens
(the BI drivers embed DuckDB 1.x, which cannot read 2.0's), and keeps each table's NOT NULL
constraints and the dbt descriptions as table and column comments.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from tagwise.activation.outbox import remove_unfinished_writes
from tagwise.dbt import manifest
from tagwise.ingest.validation import literal
from tagwise.paths import refuse_collisions
from tagwise.release import require_passed_gate
from tagwise.warehouse import connect

PUBLISHED_SCHEMAS = ("marts",)
# The oldest storage format written: DuckDB 1.1 and later read it.
PUBLISHED_STORAGE_VERSION = "v1.1.0"

Descriptions = dict[tuple[str, str], tuple[str, dict[str, str]]]


def _published_nodes(project: dict | None) -> list[dict]:
    """The published models, seeds and sources of the parsed project (default: tagwise's,
    parsed when missing or stale: without it nothing would say which columns to leave
    out)."""
    project = manifest() if project is None else project
    # Sources too: what Python writes into a published schema (the change feed) is
    # declared as a dbt source, documented and marked there.
    nodes = [*project["nodes"].values(), *project["sources"].values()]
    return [
        node for node in nodes
        if node["resource_type"] in ("model", "seed", "source")
        and node["schema"] in PUBLISHED_SCHEMAS
    ]  # fmt: skip


def _table(node: dict) -> tuple[str, str]:
    """(schema, table) of a published model, seed or source."""
    return node["schema"], node.get("alias") or node.get("identifier") or node["name"]


def direct_identifiers(project: dict | None = None) -> dict[tuple[str, str], set[str]]:
    """(schema, table) -> the columns dbt's YAML marks `meta: {identifier: direct}`: what
    the BI copy leaves out unless TAGWISE_PUBLISH_IDENTIFIERS says otherwise (SPEC 3)."""
    found = {
        _table(node): {
            name for name, column in node["columns"].items()
            if (column.get("meta") or {}).get("identifier") == "direct"
        }
        for node in _published_nodes(project)
    }  # fmt: skip
    return {table: columns for table, columns in found.items() if columns}


def descriptions(project: dict | None = None) -> Descriptions:
    """(schema, table) -> (table description, column descriptions) of the published tables,
    from dbt's manifest."""
    return {
        _table(node): (
            node.get("description") or "",
            {n: c["description"] for n, c in node["columns"].items() if c.get("description")},
        )
        for node in _published_nodes(project)
    }


def published_path(warehouse: Path) -> Path:
    """Default place of the publish: beside the warehouse."""
    from tagwise.settings import current

    return current().published_path(warehouse)


def publish(
    warehouse: Path,
    target: Path,
    documented: Descriptions | None = None,
    identifiers: dict[tuple[str, str], set[str]] | None = None,
) -> dict[str, int]:
    """Copy every table of the published schemas, without the direct identifiers
    (default: direct_identifiers()) unless the
    settings keep them; returns rows per table."""
    from tagwise.settings import current

    if current().publish_identifiers:
        identifiers = {}
    elif identifiers is None:
        identifiers = direct_identifiers()
    target.parent.mkdir(parents=True, exist_ok=True)
    refuse_collisions(warehouse, published=target)
    with connect(warehouse) as con:
        require_passed_gate(con)
    documented = descriptions() if documented is None else documented
    remove_unfinished_writes(target.parent, target.name)  # a killed publish's copy
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    copied: dict[str, int] = {}
    try:
        with duckdb.connect() as con:
            con.execute(
                f"attach {literal(partial)} as published "
                f"(storage_version {literal(PUBLISHED_STORAGE_VERSION)})"
            )
            con.execute(f"attach {literal(warehouse)} as source (read_only)")
            con.execute("use published")
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
                tables = con.execute(
                    "select table_name, sql from duckdb_tables() "
                    "where database_name = 'source' and schema_name = ? order by table_name",
                    [schema],
                ).fetchall()
                for table, ddl in tables:
                    name = f'{schema}."{table}"'
                    con.execute(ddl)  # the source's own DDL: types and NOT NULL as built
                    left_out = set(identifiers.get((schema, table), ()))
                    for column in sorted(left_out):
                        con.execute(f'alter table {name} drop column if exists "{column}"')
                    kept = ", ".join(
                        f'"{c}"'
                        for (c,) in con.execute(
                            "select column_name from duckdb_columns() where database_name = "
                            "'published' and schema_name = ? and table_name = ? "
                            "order by column_index",
                            [schema, table],
                        ).fetchall()
                    )
                    con.execute(f"insert into {name} select {kept} from source.{name}")
                    _comment(con, schema, table, *documented.get((schema, table), ("", {})))
                    copied[f"{schema}.{table}"] = con.execute(
                        f"select count(*) from {name}"
                    ).fetchone()[0]
            con.execute("use memory")
            con.execute("detach source")
            con.execute("detach published")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return copied


def _comment(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, described: str, columns: dict[str, str]
) -> None:
    """The table's and its columns' dbt descriptions as comments (BI tools show them)."""
    name = f'{schema}."{table}"'
    if described:
        con.execute(f"comment on table {name} is {literal(described)}")
    present = {
        column
        for (column,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'published' "
            "and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for column, text in columns.items():
        if column in present:
            con.execute(f'comment on column {name}."{column}" is {literal(text)}')
