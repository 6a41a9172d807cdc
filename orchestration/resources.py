"""The settings every tagwise asset reads: where a run reads and writes (the day it is as
of is its partition, tagwise.orchestration.partitions).

Defaults come from tagwise.settings, as the CLI's do; a run's config overrides any of
them. The resource holds the warehouse lock for the whole run, so a
second run (from Dagster or the CLI) is refused instead of writing at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field

from tagwise.dbt import DbtSettings
from tagwise.migrations import describe, upgrade
from tagwise.settings import current
from tagwise.spark import SparkSettings, copy_to_state, session
from tagwise.warehouse import WarehouseLock

SETTINGS = current()
# Every asset and check that writes the warehouse runs in this Dagster pool.
WAREHOUSE_POOL = "warehouse"


class TagwiseSettings(ConfigurableResource):
    landing: str = Field(
        default=str(SETTINGS.landing),
        description="Landing directory: one folder per source.",
    )
    warehouse: str = Field(
        default=str(SETTINGS.warehouse),
        description="DuckDB warehouse file.",
    )
    exports: str = Field(
        default=str(SETTINGS.exports),
        description="Folder for change sets and audience snapshots.",
    )
    target: str = Field(
        default=str(SETTINGS.target),
        description="Engine: duckdb (embedded, the default) or spark (`tagwise[spark]`).",
    )
    full_refresh: bool = Field(
        default=False,
        description="dbt rebuilds incremental models and history from scratch, dropping the "
        "history recorded after the run's date (the first run of a backfill that replays history).",
    )
    verify_content: bool = Field(
        default=False,
        description="Hash landing files logged with the same name, size and time too.",
    )

    @property
    def landing_path(self) -> Path:
        return Path(self.landing)

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse)

    @property
    def exports_path(self) -> Path:
        return Path(self.exports)

    def dbt(self, as_of: date) -> DbtSettings:
        """dbt's settings for a run as of this date (the run's partition)."""
        return DbtSettings(self.warehouse_path, as_of, self.target)

    def copy_from_spark(self, tables: Sequence[str]) -> None:
        """On the Spark target, the tables copied into the local state file (see
        tagwise.spark.copy_to_state)."""
        copy_to_state(self.warehouse_path, self.target, tables)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[TagwiseSettings]:
        # Runs use the in-process executor, so this is held from the first step to the last.
        with WarehouseLock(self.warehouse_path):
            # A warehouse an earlier release wrote takes this release's shapes before any
            # step writes it; a new one is created recording them.
            if upgraded := upgrade(self.warehouse_path, create=True):
                context.log.info(describe(upgraded))
            if self.target == "spark":
                # Started here with tagwise's settings, before dbt's first connection.
                session(SparkSettings.for_warehouse(self.warehouse_path))
            yield self


def run_config(**settings: str | bool) -> dict:
    """Run config that sets some of TagwiseSettings for one run, e.g. target="spark"."""
    return {"resources": {"tagwise": {"config": settings}}}
