"""The jobs and their schedules. Every job writes the warehouse, so every job carries the
warehouse tag that dagster.yaml limits to one run at a time."""

import functools

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)
from tagwise.expectations.suites import GUARDED_MARTS
from tagwise.orchestration.dbt.project import model_key
from tagwise.orchestration.export.assets import (
    ERASURE,
    PUBLISHED,
    RELEASE_GROUP,
    destination_export_keys,
)
from tagwise.orchestration.ingest.assets import RAW_GROUP
from tagwise.orchestration.quality.checks import release_gates
from tagwise.orchestration.review.assets import REVIEW_GROUP, TAG_SUGGESTIONS

from tagwise.settings import current

WAREHOUSE_TAG = {"tagwise/warehouse": "writer"}

# The two jobs a run executes select by group and key alone: they exist at import.
# The review runs on its own schedule, never in the daily run.
daily_refresh = define_asset_job(
    "daily_refresh",
    selection=AssetSelection.all() - AssetSelection.groups(REVIEW_GROUP),
    description="Ingest new landing files, build as of D, predict, gate, then export and publish.",
    tags=WAREHOUSE_TAG,
)


def _build_as_of_job():
    return define_asset_job(
        BUILD_AS_OF,
        selection=(
            AssetSelection.all() - AssetSelection.groups(RAW_GROUP, RELEASE_GROUP, REVIEW_GROUP)
        )
        - AssetSelection.checks(*release_gates()),
        description="Build as of D from the raw tables as they are: dbt with its tests and the "
        "model, no ingest, gate, export or publish. Its history is forgotten by the next run "
        "unless D is released.",
        tags=WAREHOUSE_TAG,
    )


BUILD_AS_OF = "build_as_of"
RELEASE = "release"
WEEKLY_REVIEW = "weekly_tag_segment_review"
QUARTERLY_REVIEW = "quarterly_tag_review"


@functools.cache
def jobs() -> list:
    """Every job, made when Dagster loads the definitions: the release job names each
    destination of the catalog, and the others name marts of the parsed dbt project."""
    release = define_asset_job(
        RELEASE,
        selection=AssetSelection.checks_for_assets(*(model_key(m) for m in GUARDED_MARTS))
        | AssetSelection.assets(ERASURE, *destination_export_keys().values(), PUBLISHED),
        description="Gate the built warehouse again, then export and publish: after a fix to a "
        "threshold or to the export destination, without rebuilding.",
        tags=WAREHOUSE_TAG,
    )
    weekly_review = define_asset_job(
        WEEKLY_REVIEW,
        selection=AssetSelection.assets(
            model_key("tag_usage"), model_key("segment_migration"), model_key("audience_overlap")
        ),
        description="Rebuild tag usage, segment migration and audience overlap for the week's "
        "review.",
        tags=WAREHOUSE_TAG,
    )
    quarterly_review = define_asset_job(
        QUARTERLY_REVIEW,
        selection=AssetSelection.assets(TAG_SUGGESTIONS),
        description="Propose new tags, merges and retirements from the latest build (tagwise "
        "suggest) and keep the review beside the warehouse; nothing is applied.",
        tags=WAREHOUSE_TAG,
    )
    return [daily_refresh, _build_as_of_job(), release, weekly_review, quarterly_review]


def _as_of_scheduled_day(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.date().isoformat()
    return RunRequest(run_key=day, partition_key=day)


@functools.cache
def schedules() -> list[ScheduleDefinition]:
    """The daily and the weekly schedule, at the times the settings give when Dagster loads
    the definitions (TAGWISE_DAILY_CRON, TAGWISE_WEEKLY_CRON, TAGWISE_QUARTERLY_CRON)."""
    settings = current()

    @schedule(job=daily_refresh, cron_schedule=settings.daily_cron, execution_timezone="UTC")
    def daily_refresh_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        """Daily, as of the scheduled day (UTC); TAGWISE_DAILY_CRON sets the time."""
        return _as_of_scheduled_day(context)

    @schedule(job_name=WEEKLY_REVIEW, cron_schedule=settings.weekly_cron, execution_timezone="UTC")
    def weekly_review_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        """Weekly, as of the scheduled day (UTC); TAGWISE_WEEKLY_CRON sets the time."""
        return _as_of_scheduled_day(context)

    @schedule(
        job_name=QUARTERLY_REVIEW, cron_schedule=settings.quarterly_cron, execution_timezone="UTC"
    )
    def quarterly_review_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        """Quarterly, as of the scheduled day (UTC); TAGWISE_QUARTERLY_CRON sets the time."""
        return _as_of_scheduled_day(context)

    return [daily_refresh_schedule, weekly_review_schedule, quarterly_review_schedule]
