"""The model step: the predictive model (SPEC 6), fitted on completed orders as of D, its
predictions read back by dbt (source model.customer_predictions) for the features and
churn-risk tags; and the interests model (SPEC 3.10), its ranking read back for
customer_category_propensity and the likely-<category>-buyer tags."""

import functools

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)
from tagwise.orchestration.dbt.project import MODEL_GROUP, model_key
from tagwise.orchestration.partitions import DAILY, ONE_DATE_PER_RUN, as_of
from tagwise.orchestration.resources import WAREHOUSE_POOL, TagwiseSettings

from tagwise.interests.features import INTEREST_INPUTS
from tagwise.interests.pipeline import predict_interests
from tagwise.model.pipeline import MODEL_INPUTS, predict

PREDICTIONS = AssetKey(["model", "customer_predictions"])
FIT_PARAMETERS = AssetKey(["model", "fit_parameters"])
FIT_QUALITY = AssetKey(["model", "fit_quality"])
PROPENSITY = AssetKey(["model", "category_propensity"])
PROPENSITY_QUALITY = AssetKey(["model", "propensity_quality"])


@functools.cache
def model_assets() -> tuple[AssetsDefinition, AssetsDefinition]:
    """The predictive and the interests model, made when Dagster loads the definitions:
    their inputs' keys come from the parsed dbt project."""
    inputs = [model_key(name) for name in MODEL_INPUTS]
    interest_inputs = [model_key(name) for name in INTEREST_INPUTS]

    @multi_asset(
        specs=[
            AssetSpec(
                PREDICTIONS,
                deps=inputs,
                description="p_alive, expected orders and CLV per customer.",
            ),
            AssetSpec(
                FIT_PARAMETERS,
                deps=inputs,
                description="BG/NBD and Gamma-Gamma parameters per as-of date.",
            ),
            AssetSpec(
                FIT_QUALITY,
                deps=inputs,
                description="The BG/NBD fit's accuracy on a rolling holdout per as-of date.",
            ),
        ],
        group_name=MODEL_GROUP,
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def predictive_model(context: AssetExecutionContext, tagwise: TagwiseSettings):
        run = predict(tagwise.warehouse_path, as_of(context), tagwise.target)
        yield MaterializeResult(
            asset_key=PREDICTIONS,
            metadata={
                "customers": run.customers,
                "repeat_customers": run.repeat_customers,
                "note": run.note,
            },
        )
        yield MaterializeResult(
            asset_key=FIT_PARAMETERS,
            metadata={name: float(v) for name, v in run.parameters.items() if v is not None},
        )
        quality = run.quality
        yield MaterializeResult(
            asset_key=FIT_QUALITY,
            metadata={
                "calibration_end": str(quality.calibration_end),
                "note": quality.note,
            }
            | {
                name: float(value)
                for name in ("aggregate_ratio", "mean_absolute_error", "correlation")
                if (value := getattr(quality, name)) is not None
            },
        )

    @multi_asset(
        specs=[
            AssetSpec(
                PROPENSITY,
                deps=interest_inputs,
                description="Each customer's top categories for the next 90 days, with drivers.",
            ),
            AssetSpec(
                PROPENSITY_QUALITY,
                deps=interest_inputs,
                description="The interests model beside category popularity and own history, per as-of date.",
            ),
        ],
        group_name=MODEL_GROUP,
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def interests_model(context: AssetExecutionContext, tagwise: TagwiseSettings):
        run = predict_interests(tagwise.warehouse_path, as_of(context), tagwise.target)
        quality = run.quality
        context.log.info(f"interests as of {run.as_of}: {quality.note}")
        yield MaterializeResult(
            asset_key=PROPENSITY,
            metadata={
                "customers": run.customers,
                "rows": run.rows,
                "model_version": run.model_version or "none",
            },
        )
        yield MaterializeResult(
            asset_key=PROPENSITY_QUALITY,
            metadata={"usable": quality.is_usable, "note": quality.note}
            | {
                name: float(value)
                for name in (
                    "auc",
                    "brier",
                    "model_hit_rate_new_at_3",
                    "popularity_hit_rate_new_at_3",
                    "model_precision_at_3",
                    "own_history_precision_at_3",
                )
                if (value := getattr(quality, name)) is not None
            },
        )

    return predictive_model, interests_model
