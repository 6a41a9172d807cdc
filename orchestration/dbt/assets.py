"""Every dbt model and seed as an asset; dbt's data tests as asset checks on them."""

import shutil
from pathlib import Path

from dagster import AssetExecutionContext, Failure
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt.project import TagwiseTranslator, dbt_project, manifest
from orchestration.resources import WAREHOUSE_POOL, TagwiseSettings
from tagwise.catalog import check_catalogs
from tagwise.dbt import PRODUCTION_EXCLUDE, environment, refuse_future
from tagwise.errors import TagwiseError
from tagwise.history import forget_unreleased

RUNS = Path("target") / "runs"
RUN_TARGETS_KEPT = 20


def run_target_path(run_id: str) -> Path:
    """One dbt target folder per run: the first step parses the project with the run's vars
    and warehouse, the later steps of the run reuse that parse (dbt partial parsing)."""
    return RUNS / run_id


def prune_run_targets(runs: Path, keep: int = RUN_TARGETS_KEPT) -> list[Path]:
    """Remove all but the `keep` newest run folders (compiled SQL, logs and run results for
    a look after the fact, about 9 MB a run); returns what was removed."""
    folders = sorted(
        (folder for folder in runs.iterdir() if folder.is_dir()) if runs.is_dir() else [],
        key=lambda folder: folder.stat().st_mtime,
        reverse=True,
    )
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return folders[keep:]


def build_args(settings: TagwiseSettings) -> list[str]:
    """`dbt build` of the selected nodes as of the run's date; unit tests are for CI."""
    return ["build", *settings.dbt().run_flags(), "--exclude", PRODUCTION_EXCLUDE]


@dbt_assets(
    manifest=manifest(),
    project=dbt_project,
    dagster_dbt_translator=TagwiseTranslator(),
    exclude=PRODUCTION_EXCLUDE,
    pool=WAREHOUSE_POOL,
)
def tagwise_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, tagwise: TagwiseSettings
):
    settings = tagwise.dbt()
    try:
        rules, definitions = check_catalogs()
        refuse_future(settings.as_of, settings.allow_future)
    except TagwiseError as error:
        raise Failure(str(error)) from None
    context.log.info(f"catalogs valid: {rules} tag rules, {definitions} segment definitions")
    if settings.target == "duckdb":
        forgotten = forget_unreleased(settings.warehouse, settings.as_of)
        if forgotten:
            context.log.info(f"history forgotten from {forgotten}: that run was not released")
    # Dagster runs the project in several steps (around the model and the blocking gates); a
    # test on two models runs in the step that builds the later one, never before it exists.
    prune_run_targets(dbt_project.project_dir / RUNS)
    with environment({**tagwise.dbt().env(), "DBT_INDIRECT_SELECTION": "buildable"}):
        invocation = dbt.cli(
            build_args(tagwise), context=context, target_path=run_target_path(context.run.run_id)
        )
    yield from invocation.stream()
