"""The warehouse's tables as Python names them: dbt relations through `ref` and `source`,
as dbt's SQL does, and the few tables only Python keeps.

A dbt relation's schema and name are resolved from the project's manifest, so no
`schema.table` string of a dbt relation is written anywhere in Python: a model moved to
another schema or given an alias is found without a change here. Each consumer outside dbt
is a dbt exposure (models/_exposures.yml); a test checks that each exposure lists exactly
what its modules read through this module.
"""

from __future__ import annotations

import functools

from tagwise.dbt import manifest


@functools.cache
def _relations() -> dict[tuple[str, ...], str]:
    """(name,) of every model and seed, (source, table) of every source -> schema.table."""
    project = manifest()
    found: dict[tuple[str, ...], str] = {}
    for node in project["nodes"].values():
        if node["resource_type"] in ("model", "seed"):
            found[(node["name"],)] = f"{node['schema']}.{node.get('alias') or node['name']}"
    for node in project["sources"].values():
        found[(node["source_name"], node["name"])] = (
            f"{node['schema']}.{node.get('identifier') or node['name']}"
        )
    return found


def ref(name: str) -> str:
    """schema.table of the dbt model or seed `name`."""
    try:
        return _relations()[(name,)]
    except KeyError:
        raise KeyError(f"no dbt model or seed named {name!r}") from None


def source(source_name: str, table: str) -> str:
    """schema.table of the dbt source table `source_name.table`."""
    try:
        return _relations()[(source_name, table)]
    except KeyError:
        raise KeyError(f"no dbt source {source_name}.{table}") from None


# dbt column constraints as the warehouse writes them.
CONSTRAINT_SQL = {"primary_key": "primary key", "not_null": "not null"}


def create_source_tables(con, source_name: str) -> None:
    """Create (if not there) the schema and tables of a source Python writes."""
    for statement in create_source_tables_sql(source_name):
        con.execute(statement)


def create_source_tables_sql(
    source_name: str, text_type: str = "varchar", table_options: str = ""
) -> list[str]:
    """`create ... if not exists` of the schema and every table of a source Python writes,
    from the tables' columns, data types and constraints in the dbt project: the one place
    they are written (the create_source_table macro renders the same for tables that
    dbt's run creates). On Spark, text is `string` and a table takes its options (`using
    parquet`); Spark tables keep no constraints but not null."""
    tables = [node for node in manifest()["sources"].values() if node["source_name"] == source_name]
    statements = [f"create schema if not exists {tables[0]['schema']}"]
    for node in tables:
        columns = ",\n    ".join(
            " ".join(
                [
                    column["name"],
                    text_type if column["data_type"] == "varchar" else column["data_type"],
                ]
                + [
                    CONSTRAINT_SQL[c["type"]]
                    for c in column.get("constraints", [])
                    if text_type == "varchar" or c["type"] == "not_null"
                ]
            )
            for column in node["columns"].values()
        )
        statements.append(
            f"create table if not exists {source(source_name, node['name'])} (\n    {columns}\n)"
            f"{table_options}"
        )
    return statements
