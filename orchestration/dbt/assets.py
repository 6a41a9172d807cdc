"""Every dbt model and seed as an asset; dbt's data tests as asset checks on them."""

import functools
import shutil
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    Failure,
    Output,
)
from dagster_dbt import DbtCliResource, dbt_assets
from tagwise.orchestration.dbt.project import TagwiseTranslator, dbt_project, manifest
from tagwise.orchestration.identity.assets import probabilistic_rule
from tagwise.orchestration.partitions import DAILY, ONE_DATE_PER_RUN, as_of
from tagwise.orchestration.resources import WAREHOUSE_POOL, TagwiseSettings

from tagwise.catalog import check_catalogs
from tagwise.dbt import PRODUCTION_EXCLUDE, DbtSettings, environment
from tagwise.dbt_project import PROJECT_DIR
from tagwise.errors import TagwiseError
from tagwise.history import forget_unreleased
from tagwise.identity.matching import MATCH_INPUTS_SELECTOR
from tagwise.model.pipeline import UPSTREAM_OF_MODEL

RUNS = Path("target") / "runs"
RUN_TARGETS_KEPT = 20


def run_target_path(run_id: str) -> Path:
    """One dbt target folder per run, for a look after the fact: the first step starts from
    the last parse for the same warehouse (reuse_parse), the later steps of the run reuse
    the run's own (dbt partial parsing)."""
    return RUNS / run_id


PARSE = "partial_parse.msgpack"
PARSED_FOR = "parsed_for.txt"


def reuse_parse(runs: Path, run_target: Path, parsed_for: str) -> Path | None:
    """Start a run's target folder from the newest parse of an earlier run for the same
    warehouse and target, so dbt parses only what changed since (the as-of date is not
    among it: see macros/as_of.sql). dbt checks the parse itself (project files, profile,
    vars, its version) and parses in full when it does not fit, as it does when the copy
    is unreadable. Returns the run folder the parse came from, if any."""
    run_target.mkdir(parents=True, exist_ok=True)
    (run_target / PARSED_FOR).write_text(parsed_for)
    earlier: list[tuple[float, Path]] = []
    for folder in runs.iterdir():
        try:  # another process may be removing its old run folders meanwhile
            if folder != run_target and (folder / PARSED_FOR).read_text() == parsed_for:
                earlier.append(((folder / PARSE).stat().st_mtime, folder))
        except OSError:
            continue
    if not earlier:
        return None
    newest = max(earlier)[1]
    copy = run_target / f".{PARSE}.partial"
    try:
        shutil.copyfile(newest / PARSE, copy)
    except OSError:
        return None
    copy.replace(run_target / PARSE)
    return newest


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


def parse_key(settings: DbtSettings) -> str:
    """What a parse is for: the profile dbt reads differs by warehouse and target."""
    return f"{settings.target} {settings.warehouse.resolve()}"


def build_args(settings: DbtSettings, full_refresh: bool = False) -> list[str]:
    """`dbt build` of the selected nodes as of the run's date; unit tests are for CI."""
    return [
        "build",
        *settings.run_flags(),
        "--exclude",
        PRODUCTION_EXCLUDE,
        *(["--full-refresh"] if full_refresh else []),
    ]


def _build(context: AssetExecutionContext, dbt: DbtCliResource, tagwise: TagwiseSettings):
    """`dbt build` of this step's models, seeds and tests as of the run's date, each model
    reported as it is built (n of the step's total) in the run's log."""
    settings = tagwise.dbt(as_of(context))
    try:
        rules, definitions, destinations, identity_rules = check_catalogs()
    except TagwiseError as error:
        raise Failure(str(error)) from None
    context.log.info(
        f"catalogs valid: {rules} tag rules, {definitions} segment definitions, "
        f"{destinations} destinations, {identity_rules} identity rules"
    )
    if settings.target == "duckdb":
        forgotten = forget_unreleased(settings.warehouse, settings.as_of)
        if forgotten:
            context.log.info(f"history forgotten from {forgotten}: that run was not released")
    runs = PROJECT_DIR / RUNS
    prune_run_targets(runs)
    target_path = run_target_path(context.run.run_id)
    if not (PROJECT_DIR / target_path / PARSE).exists():
        reuse_parse(runs, PROJECT_DIR / target_path, parse_key(settings))
    with environment({**settings.env(), "DBT_INDIRECT_SELECTION": "buildable"}):
        invocation = dbt.cli(
            build_args(settings, tagwise.full_refresh), context=context, target_path=target_path
        )
    total, built = len(context.selected_asset_keys), 0
    for event in invocation.stream():
        if isinstance(event, Output | AssetMaterialization):
            built += 1
            context.log.info(f"dbt: {built} of {total} built ({event_name(event)})")
        yield event


def event_name(event: Output | AssetMaterialization) -> str:
    return event.output_name if isinstance(event, Output) else event.asset_key.to_user_string()


@functools.cache
def dbt_steps() -> tuple[AssetsDefinition, ...]:
    """The dbt steps around the Python steps, named for what they build; made when Dagster
    loads the definitions (they read the parsed project), not at import. A data test on
    models of two steps runs in the later one (dbt's "buildable" selection), and the tests
    on a table a Python step writes (a dbt source) run after it wrote it. With the identity
    catalog's probabilistic rule, a first step builds what the identity step reads."""
    identity_inputs = MATCH_INPUTS_SELECTOR if probabilistic_rule() else None
    steps = []
    if identity_inputs:
        steps.append(
            _dbt_step(
                # Staging and the current customer records the identity step compares.
                "dbt_staging_and_identity_inputs",
                select=identity_inputs,
                exclude=PRODUCTION_EXCLUDE,
            )
        )
    steps.append(
        _dbt_step(
            # Staging, identity, consent and the completed orders: what the model reads.
            "dbt_staging_and_model_inputs",
            select=UPSTREAM_OF_MODEL,
            exclude=" ".join(filter(None, (identity_inputs, PRODUCTION_EXCLUDE))),
        )
    )
    steps.append(
        _dbt_step(
            # Customer features (with the model's predictions), tags, segments and audiences.
            "dbt_features_tags_segments",
            select="fqn:*",
            exclude=" ".join(
                filter(None, (UPSTREAM_OF_MODEL, identity_inputs, PRODUCTION_EXCLUDE))
            ),
        )
    )
    return tuple(steps)


def _dbt_step(name: str, select: str, exclude: str) -> AssetsDefinition:
    @dbt_assets(
        manifest=manifest(),
        project=dbt_project(),
        dagster_dbt_translator=TagwiseTranslator(),
        select=select,
        exclude=exclude,
        name=name,
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY,
        backfill_policy=ONE_DATE_PER_RUN,
    )
    def step(context: AssetExecutionContext, dbt: DbtCliResource, tagwise: TagwiseSettings):
        """A dbt step of the daily run: `dbt build` of its selection as of D."""
        yield from _build(context, dbt, tagwise)

    return step
