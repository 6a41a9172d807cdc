"""The jobs and their schedules. Every job writes the warehouse, so every job carries the
warehouse tag that dagster.yaml limits to one run at a time."""

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)
from tagwise.expectations.suites import GUARDED_MARTS
from tagwise.orchestration.dbt.project import model_key
from tagwise.orchestration.export.assets import (
    DESTINATION_EXPORTS,
    ERASURE,
    PUBLISHED,
    RELEASE_GROUP,
)
from tagwise.orchestration.ingest.assets import RAW_GROUP
from tagwise.orchestration.quality.checks import release_gates

from tagwise.settings import current

WAREHOUSE_TAG = {"tagwise/warehouse": "writer"}
DAILY_CRON = current().daily_cron
WEEKLY_CRON = current().weekly_cron

daily_refresh = define_asset_job(
    "daily_refresh",
    selection=AssetSelection.all(),
    description="Ingest new landing files, build as of D, predict, gate, then export and publish.",
    tags=WAREHOUSE_TAG,
)

build_as_of_job = define_asset_job(
    "build_as_of",
    selection=(AssetSelection.all() - AssetSelection.groups(RAW_GROUP, RELEASE_GROUP))
    - AssetSelection.checks(*release_gates),
    description="Build as of D from the raw tables as they are: dbt with its tests and the "
    "model, no ingest, gate, export or publish. Its history is forgotten by the next run "
    "unless D is released.",
    tags=WAREHOUSE_TAG,
)

release = define_asset_job(
    "release",
    selection=AssetSelection.checks_for_assets(*(model_key(m) for m in GUARDED_MARTS))
    | AssetSelection.assets(ERASURE, *DESTINATION_EXPORTS.values(), PUBLISHED),
    description="Gate the built warehouse again, then export and publish: after a fix to a "
    "threshold or to the export destination, without rebuilding.",
    tags=WAREHOUSE_TAG,
)

weekly_review = define_asset_job(
    "weekly_tag_segment_review",
    selection=AssetSelection.assets(
        model_key("tag_usage"), model_key("segment_migration"), model_key("audience_overlap")
    ),
    description="Rebuild tag usage, segment migration and audience overlap for the week's review.",
    tags=WAREHOUSE_TAG,
)


def _as_of_scheduled_day(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.date().isoformat()
    return RunRequest(run_key=day, partition_key=day)


@schedule(job=daily_refresh, cron_schedule=DAILY_CRON, execution_timezone="UTC")
def daily_refresh_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Daily, as of the scheduled day (UTC); TAGWISE_DAILY_CRON sets the time."""
    return _as_of_scheduled_day(context)


@schedule(job=weekly_review, cron_schedule=WEEKLY_CRON, execution_timezone="UTC")
def weekly_review_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Weekly, as of the scheduled day (UTC); TAGWISE_WEEKLY_CRON sets the time."""
    return _as_of_scheduled_day(context)
