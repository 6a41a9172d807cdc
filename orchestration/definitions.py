"""The tagwise code location: `dagster dev -m tagwise.orchestration.definitions`."""

from dagster import Definitions, in_process_executor
from tagwise.orchestration.dbt.assets import DBT_STEPS
from tagwise.orchestration.dbt.project import dbt_resource
from tagwise.orchestration.export.assets import (
    destination_exports,
    erasure_in_exports,
    published_marts,
)
from tagwise.orchestration.ingest.assets import landing_files, raw_tables
from tagwise.orchestration.ingest.sensors import landing_sensor
from tagwise.orchestration.jobs import (
    build_as_of_job,
    daily_refresh,
    daily_refresh_schedule,
    release,
    weekly_review,
    weekly_review_schedule,
)
from tagwise.orchestration.model.assets import interests_model, predictive_model
from tagwise.orchestration.quality.checks import release_gates
from tagwise.orchestration.resources import TagwiseSettings

defs = Definitions(
    assets=[
        *landing_files,
        *raw_tables,
        *DBT_STEPS,
        predictive_model,
        interests_model,
        erasure_in_exports,
        *destination_exports,
        published_marts,
    ],
    asset_checks=release_gates,
    jobs=[daily_refresh, build_as_of_job, release, weekly_review],
    schedules=[daily_refresh_schedule, weekly_review_schedule],
    sensors=[landing_sensor],
    resources={"tagwise": TagwiseSettings(), "dbt": dbt_resource()},
    # One process writes the warehouse: every step of a run runs in the run's own process.
    executor=in_process_executor,
)
