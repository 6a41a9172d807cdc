"""The quarterly tag review: `tagwise suggest` on the latest build, its review kept beside
the warehouse for a person to read. Nothing it proposes is applied."""

import functools

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, asset
from tagwise.orchestration.dbt.project import model_key
from tagwise.orchestration.partitions import DAILY, ONE_DATE_PER_RUN, as_of
from tagwise.orchestration.resources import WAREHOUSE_POOL, TagwiseSettings

from tagwise.suggest import read_inputs, write_review

TAG_SUGGESTIONS = AssetKey(["review", "tag_suggestions"])
REVIEW_GROUP = "review"


@functools.cache
def review_assets() -> list[AssetsDefinition]:
    """Made when Dagster loads the definitions: the inputs' keys come from the parsed
    project."""

    @asset(
        key=TAG_SUGGESTIONS,
        deps=[model_key("customer_tags"), model_key("int_tags__inputs")],
        group_name=REVIEW_GROUP,
        description="New tags, merges and retirements proposed from the build as of D "
        "(tagwise suggest), written to <warehouse folder>/reviews/ for a person to review.",
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def tag_suggestions(
        context: AssetExecutionContext, tagwise: TagwiseSettings
    ) -> MaterializeResult:
        inputs = read_inputs(tagwise.warehouse_path, as_of(context))
        suggestions, files = write_review(inputs, tagwise.warehouse_path.parent / "reviews")
        kinds = [s.kind for s in suggestions]
        return MaterializeResult(
            metadata={kind: kinds.count(kind) for kind in ("new", "merge", "retire")}
            | {"review": str(files[1]), "page": str(files[2])}
        )

    return [tag_suggestions]
