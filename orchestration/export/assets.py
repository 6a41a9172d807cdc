"""What leaves the warehouse once the gate has passed: each destination's consent-safe
change set, one asset per destination, and the published copy of the marts for BI."""

import functools

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, asset
from tagwise.expectations.suites import GUARDED_MARTS
from tagwise.orchestration.dbt.project import asset_keys, model_key
from tagwise.orchestration.partitions import DAILY, ONE_DATE_PER_RUN, as_of
from tagwise.orchestration.resources import WAREHOUSE_POOL, TagwiseSettings

from tagwise.activation.changes import erased_people_tables, export_inputs
from tagwise.activation.destinations import destinations
from tagwise.activation.redaction import erase_from_exports
from tagwise.activation.syncs import export, not_configured
from tagwise.catalog import require_unchanged_since_checked
from tagwise.erasure import identity_tables_purged, purge_erased
from tagwise.history import record_release
from tagwise.publish import PUBLISHED_SCHEMAS, publish, published_path
from tagwise.quality import record_good_run

ERASURE = AssetKey(["exports", "erasure"])
PUBLISHED = AssetKey(["published", "marts"])
RELEASE_GROUP = "release"


def destination_export_key(destination: str) -> AssetKey:
    return AssetKey(["exports", destination])


def destination_export_keys() -> dict[str, AssetKey]:
    """Each destination of the catalog and its export asset's key."""
    return {destination: destination_export_key(destination) for destination in destinations()}


def _destination_export(destination: str) -> AssetsDefinition:
    @asset(
        key=destination_export_key(destination),
        # Every gated mart, not only the audience: a blocking check stops the assets directly
        # downstream of its mart, and an error on any gated mart must stop every export. No
        # asset depends on an export: a held or failing destination stops no other one and
        # not the publish.
        deps=[ERASURE, *(model_key(mart) for mart in GUARDED_MARTS)],
        group_name=RELEASE_GROUP,
        description=f"The {destination} destination's change set (add/update/remove) and full "
        f"audience ({destinations()[destination].kind}), computed against what it may hold.",
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def destination_export(tagwise: TagwiseSettings) -> MaterializeResult:
        require_unchanged_since_checked()
        unset = not_configured(destination)
        if unset is not None:
            return MaterializeResult(metadata={"sync": unset})
        tagwise.copy_from_spark(export_inputs())
        sync = export(tagwise.warehouse_path, destination, tagwise.exports_path)
        if sync is None:
            return MaterializeResult(metadata={"sync": "nothing new to send"})
        # A webhook that keeps failing fails this asset, and so the run, naming it; no
        # other destination and not the publish depend on it.
        sync.refuse_failed_delivery()
        return MaterializeResult(
            metadata={
                "sync": sync.sync_id,
                "resent": sync.resent,
                "held": sync.held,
                "adds": sync.adds,
                "updates": sync.updates,
                "removes": sync.removes,
                "files": [str(f) for f in sync.files],
                **({"delivery": sync.delivery} if sync.delivery is not None else {}),
            }
        )

    return destination_export


@functools.cache
def release_assets() -> list[AssetsDefinition]:
    """Erasure in the exports, one export per destination of the catalog, and the publish;
    made when Dagster loads the definitions (they read the catalog and the parsed project),
    not at import."""

    @asset(
        key=ERASURE,
        deps=[
            model_key("int_identity__erased_people"),
            # schema.table is the asset key of a dbt model or of a source Python writes.
            *(AssetKey(table.split(".")) for table in identity_tables_purged()),
        ],
        group_name=RELEASE_GROUP,
        description="Erasure reaches what was exported before: erased people's rows leave the "
        "stored sync state and the export files, but for the remove that tells the destination.",
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def erasure_in_exports(tagwise: TagwiseSettings) -> MaterializeResult:
        tagwise.copy_from_spark(erased_people_tables())
        dropped = erase_from_exports(
            tagwise.warehouse_path, tagwise.exports_path, published_path(tagwise.warehouse_path)
        )
        purged = purge_erased(tagwise.warehouse_path, tagwise.target)
        return MaterializeResult(
            metadata={"rows_dropped_from_files": dropped, "rows_purged_in_warehouse": purged}
        )

    @asset(
        key=PUBLISHED,
        deps=asset_keys({"model", "seed"}, lambda node: node["schema"] in PUBLISHED_SCHEMAS),
        group_name=RELEASE_GROUP,
        description="The marts copied to the published DuckDB file for BI, replaced atomically.",
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def published_marts(
        context: AssetExecutionContext, tagwise: TagwiseSettings
    ) -> MaterializeResult:
        require_unchanged_since_checked()
        tagwise.copy_from_spark(PUBLISHED_SCHEMAS)
        target = published_path(tagwise.warehouse_path)
        copied = publish(tagwise.warehouse_path, target)
        # The segment sizes the next gate compares with are those of the last release.
        record_good_run(tagwise.warehouse_path)
        record_release(tagwise.warehouse_path, as_of(context))
        return MaterializeResult(
            metadata={"path": str(target), "tables": len(copied), "rows": sum(copied.values())}
        )

    return [
        erasure_in_exports,
        *(_destination_export(destination) for destination in destinations()),
        published_marts,
    ]
