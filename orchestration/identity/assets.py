"""The identity step: the identity catalog's probabilistic rule, trained and scored as of D
between the dbt step that builds its candidates and the one that links them (SPEC 3.1).
A catalog without the rule has no such step, and no third dbt step either."""

import functools

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    asset,
)
from tagwise.orchestration.dbt.project import MODEL_GROUP, model_key
from tagwise.orchestration.partitions import DAILY, ONE_DATE_PER_RUN, as_of
from tagwise.orchestration.resources import WAREHOUSE_POOL, TagwiseSettings

from tagwise.catalog.identity import check_identity_catalog
from tagwise.identity.matching import MATCH_INPUTS, match_identities

IDENTITY_MATCHES = AssetKey(["model", "identity_matches"])


@functools.cache
def probabilistic_rule() -> dict | None:
    """The identity catalog's probabilistic rule, if it declares one (read when Dagster
    loads the definitions, after the run checked the catalogs)."""
    return check_identity_catalog().get("probabilistic")


@functools.cache
def identity_assets() -> tuple[AssetsDefinition, ...]:
    rule = probabilistic_rule()
    if not rule:
        return ()

    @asset(
        key=IDENTITY_MATCHES,
        deps=[model_key(name) for name in MATCH_INPUTS],
        group_name=MODEL_GROUP,
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
        description="The identity catalog's probabilistic rule: record pairs Splink scores at "
        "or above its threshold as of D, with what agreed.",
    )
    def identity_matches(context: AssetExecutionContext, tagwise: TagwiseSettings):
        run = match_identities(tagwise.warehouse_path, as_of(context), rule, tagwise.target)
        context.log.info(f"identity as of {run.as_of}: {run.note} in {run.seconds:.1f} s")
        return MaterializeResult(
            metadata={
                "rule": run.rule,
                "records": run.records,
                "matches": run.matches,
                "seconds": round(run.seconds, 1),
                "note": run.note,
            }
        )

    return (identity_matches,)
