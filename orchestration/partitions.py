"""The as-of date is a daily partition: a run as of D materializes partition D of every
asset, and a backfill is the same job over a range of partitions, oldest first."""

from datetime import date

from dagster import AssetExecutionContext, BackfillPolicy, DailyPartitionsDefinition

from tagwise.settings import current

# end_offset=1: today (UTC) is a partition from its first minute, as a daily run as of
# today needs. Dates after today are not partitions: history cannot be recorded ahead.
DAILY = DailyPartitionsDefinition(
    start_date=current().first_as_of.isoformat(), end_offset=1, timezone="UTC"
)

# A backfill runs one date per run: each date's history is recorded on the release before
# it (dagster-dbt's default would build a whole range in one dbt run, as of no date).
ONE_DATE_PER_RUN = BackfillPolicy.multi_run(max_partitions_per_run=1)


def as_of(context: AssetExecutionContext) -> date:
    """The run's as-of date: its partition."""
    return date.fromisoformat(context.partition_key)
