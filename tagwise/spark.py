"""The Spark target: every process of a run talks to one Spark Connect server.

Locally (SPARK_REMOTE=local[N], the default) the first process that asks for a session
starts a persistent Spark Connect server in local mode (pyspark's opt-in server reuse) and
every later process, dbt's included, connects to it. One JVM owns the Hive metastore (an
embedded Derby database, which admits one JVM at a time) and the warehouse folder, the
way one process owns a DuckDB file. On a cluster, SPARK_REMOTE=sc://host:15002 points at
its Spark Connect endpoint and the cluster's own configuration applies.

The local server keeps its state under the Spark folder (TAGWISE_SPARK_HOME, default
`<warehouse folder>/spark`): `warehouse/` (tables as Parquet), `metastore_db/`, the
connection file and the server's logs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tagwise.warehouse import connect

# Session settings every connection applies; dbt's profile sets the same ones.
SESSION_CONF = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false"}


class SparkUnavailable(Exception):
    """The spark extra is not installed or the server cannot be reached."""


@dataclass(frozen=True)
class SparkSettings:
    """Where the Spark server is and how it runs; the values come from tagwise.settings."""

    home: Path
    remote: str
    driver_memory: str
    shuffle_partitions: int

    @classmethod
    def for_warehouse(cls, warehouse: Path) -> SparkSettings:
        """From tagwise.settings; the Spark folder defaults to one beside the warehouse
        file, which then holds only tagwise's own state (export, quality)."""
        from tagwise.settings import current

        settings = current()
        return cls(
            home=settings.spark_home_for(warehouse),
            remote=settings.spark_remote,
            driver_memory=settings.spark_driver_memory,
            shuffle_partitions=settings.spark_shuffle_partitions,
        )

    @property
    def is_local(self) -> bool:
        return self.remote.startswith("local")

    def env(self) -> dict[str, str]:
        """What a process (tagwise's own or dbt's) needs to reach the server."""
        values = {"SPARK_REMOTE": self.remote, "TAGWISE_SPARK_HOME": str(self.home)}
        if self.is_local:
            values |= {
                "SPARK_LOCAL_CONNECT_REUSE": "1",
                "SPARK_LOCAL_CONNECT_DISCOVERY": str(self.home / "connect.json"),
            }
        return values

    def server_conf(self) -> dict[str, str]:
        """Static settings of the local server, applied when it starts."""
        derby = f"jdbc:derby:;databaseName={self.home / 'metastore_db'};create=true"
        return {
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(self.home / "warehouse"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": derby,
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.home}",
            "spark.driver.memory": self.driver_memory,
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.ui.enabled": "false",
            # pyspark 4.3 in local mode fails to deserialize some broadcast unions
            # (ClassCastException on UnionExec.children, seen in a dbt unit test).
            "spark.sql.autoBroadcastJoinThreshold": "-1",
        }


def _quiet_pyspark() -> None:
    # Every later connection re-sends the static settings, which the running server
    # declines with a warning; pyspark 4.3 also warns about pandas 3.
    warnings.filterwarnings("ignore", message="Failed to set spark")
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")


def session(settings: SparkSettings):
    """A Spark Connect session; starts the local server on first use."""
    _quiet_pyspark()
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkUnavailable(
            "the spark target needs the spark extra: pip install 'tagwise[spark]'"
        ) from error
    settings.home.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.env())
    builder = SparkSession.builder
    conf = (settings.server_conf() if settings.is_local else {}) | SESSION_CONF
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def stop_local_server(settings: SparkSettings) -> None:
    """Stop the local server of this Spark folder, if one runs (its tables stay)."""
    if not settings.is_local or not (settings.home / "connect.json").exists():
        return
    subprocess.run(
        [sys.executable, "-m", "pyspark.sql.connect.local_server", "--stop"],
        env=os.environ | settings.env(),
        check=False,
        capture_output=True,
    )


def schema_tables(spark, schema: str) -> list[str]:
    """`schema.table` of every table of a Spark schema, sorted."""
    return sorted(
        f"{schema}.{t.name}" for t in spark.catalog.listTables(schema) if not t.isTemporary
    )


def copy_to_state(warehouse: Path, target: str, tables: Sequence[str]) -> dict[str, int]:
    """On the Spark target, copy Spark tables (`schema.table`, or a schema's name for all
    its tables) into the local DuckDB state file, replacing earlier copies; returns rows per
    table. The steps that keep state beside the data (erasure, export, publish) read these
    copies. Spark timestamps arrive in UTC and are stored as DuckDB's naive UTC timestamps,
    as on the DuckDB target. On DuckDB the tables are already in that file: nothing to do."""
    import pyarrow as pa

    if target != "spark":
        return {}
    spark = session(SparkSettings.for_warehouse(warehouse))
    named = [t for name in tables for t in ([name] if "." in name else schema_tables(spark, name))]
    copied = {}
    with connect(warehouse) as con:
        for name in named:
            schema, _ = name.split(".")
            data = spark.table(name).toArrow()
            columns = ", ".join(
                f'cast("{f.name}" as timestamp) as "{f.name}"'
                if pa.types.is_timestamp(f.type)
                else f'"{f.name}"'
                for f in data.schema
            )
            con.execute(f"create schema if not exists {schema}")
            con.register("spark_table", data)
            con.execute(f"create or replace table {name} as select {columns} from spark_table")
            con.unregister("spark_table")
            copied[name] = data.num_rows
    return copied


def read_rows(warehouse: Path, sql: str, target: str = "duckdb") -> list[tuple]:
    """Rows of a read-only query on the target's warehouse (portable SQL)."""
    if target == "spark":
        spark = session(SparkSettings.for_warehouse(warehouse))
        return [tuple(row) for row in spark.sql(sql).collect()]
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()
