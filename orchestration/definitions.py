"""The tagwise code location: `dagster dev -m tagwise.orchestration.definitions`.

Loaded lazily: importing this module reads nothing. The definitions are made when Dagster
(or a run) first asks for them, from the parsed dbt project and the catalogs as they are
then."""

import functools

from dagster import Definitions, definitions, in_process_executor
from tagwise.orchestration.dbt.assets import dbt_steps
from tagwise.orchestration.dbt.project import dbt_resource
from tagwise.orchestration.export.assets import release_assets
from tagwise.orchestration.identity.assets import identity_assets
from tagwise.orchestration.ingest.assets import landing_files, raw_tables
from tagwise.orchestration.ingest.sensors import landing_sensor
from tagwise.orchestration.jobs import jobs, schedules
from tagwise.orchestration.model.assets import model_assets
from tagwise.orchestration.quality.checks import release_gates
from tagwise.orchestration.resources import TagwiseSettings
from tagwise.orchestration.review.assets import review_assets


@functools.cache
def _definitions() -> Definitions:
    return Definitions(
        assets=[
            *landing_files(),
            *raw_tables(),
            *dbt_steps(),
            *identity_assets(),
            *model_assets(),
            *release_assets(),
            *review_assets(),
        ],
        asset_checks=release_gates(),
        jobs=jobs(),
        schedules=schedules(),
        sensors=[landing_sensor],
        resources={"tagwise": TagwiseSettings(), "dbt": dbt_resource()},
        # One process writes the warehouse: every step of a run runs in the run's own process.
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    """Every asset, check, job, schedule and sensor of tagwise, made once per process."""
    return _definitions()
