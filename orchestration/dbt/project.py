"""The dbt project as Dagster sees it: its manifest, kept in step with the project files,
and how its nodes are named and grouped as assets."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
)

from tagwise.dbt import manifest
from tagwise.dbt_project import PROJECT_DIR

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)


class TagwiseDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the dbt adapter it builds in this process before each
    invocation (1.2 s of macro parsing per dbt step). The adapter only serves column and
    row-count metadata, which tagwise does not fetch; without one dagster-dbt runs as it
    does for the Fusion engine, which has no adapter."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    """dbt runs as a subprocess: the one installed beside this Python, whatever PATH says."""
    return TagwiseDbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt"))
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
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            # The vocabulary the tag rules use: a group of its own, so that Dagster's lineage
            # view draws the layers in their order (seeds, staging, intermediate, marts).
            return "seeds"
        return fqn[1] if len(fqn) > 2 else None


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
