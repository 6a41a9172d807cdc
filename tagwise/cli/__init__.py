"""The `tagwise` command line: one module per command group, registered here.

Command modules import only click, rich and tagwise's light modules at the top; dbt,
Dagster, Great Expectations, Spark and numpy are imported inside the command that needs
them, so `--help`, `--version` and a refused run answer at once.
"""

from __future__ import annotations

import click
from rich.markup import escape

from tagwise.cli import (
    bench,
    completejourney,
    diff,
    explain,
    febrl,
    generate,
    ingest,
    init,
    interests,
    model,
    privacy,
    release,
    run,
    spark,
    suggest,
    sync,
    tag_list,
)
from tagwise.cli.options import console, project_option
from tagwise.errors import TagwiseError


class TagwiseGroup(click.Group):
    """The one place an error reaches a person: a TagwiseError's message, once, and its
    exit code (a lock held, a bad catalog, an unreadable file, a refused release)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TagwiseError as error:
            # The message is text ("[email, marketing]"), never Rich markup.
            console.print(
                f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True
            )
            raise SystemExit(error.exit_code) from None


@click.group(cls=TagwiseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tagwise", message="%(prog)s %(version)s")
@project_option
def main() -> None:
    """tagwise: customer features, governed tags and consent-safe segments."""


for command in (
    init.init_command,
    generate.generate_command,
    ingest.ingest_command,
    ingest.check_command,
    run.run_command,
    release.validate_command,
    release.export_command,
    release.ack_command,
    sync.sync_group,
    run.backfill_command,
    spark.spark_stop_command,
    privacy.access_report_command,
    explain.explain_command,
    tag_list.tag_list_command,
    suggest.suggest_command,
    diff.diff_command,
    model.evaluate_model_command,
    interests.evaluate_interests_command,
    model.import_cdnow_command,
    completejourney.import_completejourney_command,
    febrl.import_febrl_command,
    bench.bench_command,
):
    main.add_command(project_option(command))
