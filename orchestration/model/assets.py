"""The predictive model (SPEC 6): fitted on completed orders as of D, its predictions read
back by dbt (source model.customer_predictions) for the features and churn-risk tags."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from orchestration.dbt.project import MODEL_GROUP, model_key
from orchestration.partitions import DAILY, ONE_DATE_PER_RUN, as_of
from orchestration.resources import WAREHOUSE_POOL, TagwiseSettings
from tagwise.model.pipeline import MODEL_INPUTS, predict

PREDICTIONS = AssetKey(["model", "customer_predictions"])
FIT_PARAMETERS = AssetKey(["model", "fit_parameters"])
FIT_QUALITY = AssetKey(["model", "fit_quality"])
INPUTS = [model_key(name) for name in MODEL_INPUTS]


@multi_asset(
    specs=[
        AssetSpec(
            PREDICTIONS, deps=INPUTS, description="p_alive, expected orders and CLV per customer."
        ),
        AssetSpec(
            FIT_PARAMETERS,
            deps=INPUTS,
            description="BG/NBD and Gamma-Gamma parameters per as-of date.",
        ),
        AssetSpec(
            FIT_QUALITY,
            deps=INPUTS,
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
