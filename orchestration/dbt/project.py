"""The dbt project as Dagster sees it: its manifest, kept in step with the project files,
and how its nodes are named and grouped as assets."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
)
from packaging.version import Version

from tagwise.dbt import manifest
from tagwise.dbt_project import PROJECT_DIR
from tagwise.model.pipeline import MODEL_STEP_INPUTS


@functools.cache
def dbt_project() -> DbtProject:
    """The project as dagster-dbt sees it (it reads dbt_project.yml): made when asked for."""
    return DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)


class TagwiseDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the dbt adapter it builds in this process before each
    invocation (1.2 s of macro parsing per dbt step). The adapter only serves column and
    row-count metadata, which tagwise does not fetch; without one dagster-dbt runs as it
    does for the Fusion engine, which has no adapter."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None

    @functools.cached_property
    def _cli_version(self) -> Version:
        """The installed dbt-core's version. dagster-dbt asks the executable (`dbt
        --version`, a 3 s process start in every dbt step of every run); the executable is
        the dbt beside this Python, so it is this environment's dbt-core."""
        return Version(version("dbt-core"))


def dbt_resource() -> DbtCliResource:
    """dbt runs as a subprocess: the one installed beside this Python, whatever PATH says."""
    return TagwiseDbtCliResource(
        project_dir=dbt_project(), dbt_executable=str(Path(sys.executable).with_name("dbt"))
    )


class TagwiseTranslator(DagsterDbtTranslator):
    """Assets keyed [schema, model] (sources [system, table]) and grouped by layer."""

    def __init__(self):
        super().__init__(
            DagsterDbtTranslatorSettings(
                enable_asset_checks=True, enable_source_tests_as_checks=True
            )
        )

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        owner = props.get("meta", {}).get("owner")  # set once per folder in dbt_project.yml
        if owner:
            spec = spec.replace_attributes(owners=[f"team:{owner}"])
        if props["resource_type"] in {"model", "seed"} and not props["depends_on"].get("nodes"):
            # The seeds and the run's own bookkeeping (build_info, history_as_of_dates) read
            # no table. Placed after the day's raw loads, Dagster builds them in the same dbt
            # step as the staging models instead of a step of their own, which cost a dbt
            # process start-up in every run.
            raw = [
                self.get_asset_key(source)
                for source in manifest["sources"].values()
                if source["schema"] == "raw"
            ]
            return spec.merge_attributes(deps=raw)
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] not in {"model", "seed"}:
            return None
        return stage_groups().get(dbt_resource_props["unique_id"])


# The stages of a run, in order, as Dagster's lineage view groups the assets. Groups by
# schema formed cycles (intermediate -> model -> intermediate through the predictions;
# marts -> restricted -> marts through destination eligibility), and the view drew
# staging last. A stage only reads earlier ones: landing, raw, then these dbt stages, then
# the model and release groups of the Python assets.
SEEDS = "seeds"  # the vocabulary the tag rules use
STAGING = "staging"  # the raw tables typed and renamed
MODEL_INPUTS_GROUP = "identity_consent_and_orders"  # what the model step reads
MODEL_GROUP = "model"  # the fit, and its predictions as dbt reads them
FEATURES = "features_tags_segments"
DESTINATIONS = "destinations"  # who may be sent where, and what is sent


@functools.cache
def stage_groups() -> dict[str, str]:
    """The stage group of every dbt model and seed (unique_id -> group), from where it
    stands in the graph rather than its folder: the model inputs and everything upstream
    of them before the model; the destination models and everything downstream of them
    after the features, tags and segments."""
    project = manifest()
    nodes = {
        unique_id: node
        for unique_id, node in project["nodes"].items()
        if node["resource_type"] in {"model", "seed"}
    }
    by_name = {node["name"]: unique_id for unique_id, node in nodes.items()}

    def closure(start: list[str], links: Mapping[str, list[str]]) -> set[str]:
        found, todo = set(), list(start)
        while todo:
            unique_id = todo.pop()
            if unique_id in nodes and unique_id not in found:
                found.add(unique_id)
                todo.extend(links.get(unique_id, []))
        return found

    before_model = closure([by_name[name] for name in MODEL_STEP_INPUTS], project["parent_map"])
    reads_predictions = {
        unique_id
        for unique_id, node in nodes.items()
        if any(
            project["sources"][parent]["source_name"] == "model"
            for parent in node["depends_on"].get("nodes", [])
            if parent.startswith("source.")
        )
    }
    destination_models = [
        unique_id
        for unique_id, node in nodes.items()
        if node["fqn"][1:3] == ["restricted", "destinations"]
    ]
    after_features = closure(destination_models, project["child_map"])
    groups = {}
    for unique_id, node in nodes.items():
        if node["resource_type"] == "seed":
            groups[unique_id] = SEEDS
        elif unique_id in reads_predictions and node["fqn"][1] == "staging":
            groups[unique_id] = MODEL_GROUP
        elif node["fqn"][1] == "staging":
            groups[unique_id] = STAGING
        elif unique_id in before_model:
            groups[unique_id] = MODEL_INPUTS_GROUP
        elif unique_id in after_features:
            groups[unique_id] = DESTINATIONS
        else:
            groups[unique_id] = FEATURES
    return groups


def asset_keys(
    resource_types: set[str], where: Callable[[Mapping[str, Any]], bool]
) -> list[AssetKey]:
    """Asset keys of the manifest's models, seeds or sources (by resource type) that match."""
    translator = TagwiseTranslator()
    nodes = [*manifest()["nodes"].values(), *manifest()["sources"].values()]
    return sorted(
        (
            translator.get_asset_key(node)
            for node in nodes
            if node["resource_type"] in resource_types and where(node)
        ),
        key=lambda key: key.to_user_string(),
    )


def model_key(name: str) -> AssetKey:
    """The asset key of a dbt model or seed, by name."""
    found = asset_keys({"model", "seed"}, lambda node: node["name"] == name)
    if not found:
        raise KeyError(f"no dbt model or seed named {name!r}")
    return found[0]
