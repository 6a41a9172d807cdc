"""Landing files and the raw tables loaded from them: one asset per source of SPEC 2.

Each raw asset carries the key of the dbt source that reads it, so the lineage runs from
the landing folder through the dbt models to the exports."""

import functools

from dagster import AssetKey, AssetsDefinition, AssetSpec, Failure, MaterializeResult, asset
from tagwise.orchestration.dbt.project import asset_keys
from tagwise.orchestration.partitions import DAILY, ONE_DATE_PER_RUN
from tagwise.orchestration.resources import WAREHOUSE_POOL, TagwiseSettings

from tagwise.contract import SOURCES, Source
from tagwise.ingest import IngestError, ingest, load_totals

LANDING_GROUP = "landing"
RAW_GROUP = "raw"


def landing_key(source: Source) -> AssetKey:
    return AssetKey(["landing", source.name])


def raw_key(source: Source) -> AssetKey:
    """The key of the dbt source that reads this raw table (schema raw, same table name)."""
    found = asset_keys(
        {"source"}, lambda node: node["schema"] == "raw" and node["name"] == source.name
    )
    if not found:
        raise KeyError(f"no dbt source reads raw.{source.name}")
    return found[0]


def landing_files() -> list[AssetSpec]:
    return [
        AssetSpec(
            landing_key(source),
            group_name=LANDING_GROUP,
            description=f"Files under <landing>/{source.name}/ (CSV, gzipped CSV or Parquet).",
            metadata={"required": source.required},
        )
        for source in SOURCES
    ]


def raw_table(source: Source) -> AssetsDefinition:
    @asset(
        key=raw_key(source),
        deps=[landing_key(source)],
        group_name=RAW_GROUP,
        description=f"raw.{source.name}: new landing files validated against the contract; "
        "bad rows in the quarantine table with their reasons.",
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def load(tagwise: TagwiseSettings) -> MaterializeResult:
        try:
            loads = ingest(
                tagwise.landing_path,
                tagwise.warehouse_path,
                sources=(source,),
                target=tagwise.target,
                verify_content=tagwise.verify_content,
            )
        except IngestError as error:
            raise Failure(str(error)) from None
        return MaterializeResult(metadata=load_totals(loads))

    return load


@functools.cache
def raw_tables() -> list[AssetsDefinition]:
    """One asset per source, keyed as the dbt source that reads it (from the parsed
    project): made when Dagster loads the definitions, not at import."""
    return [raw_table(source) for source in SOURCES]
