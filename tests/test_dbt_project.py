"""The dbt project as an interface: every reader outside dbt is a declared exposure."""

import re
from pathlib import Path

import pytest

from orchestration.dbt.project import manifest
from tagwise.publish import PUBLISHED_SCHEMAS

ROOT = Path(__file__).parents[1]
PYTHON_READERS = ("tagwise", "orchestration", "expectations")
# schema.table as Python's SQL names it.
NAMED_RELATION = re.compile(r"\b([a-z_]+)\.([a-z_0-9]+)\b")


@pytest.fixture(scope="module")
def project() -> dict:
    return manifest()


def _relations(project: dict) -> dict[str, str]:
    """schema.table -> unique_id of every model, seed and source."""
    nodes = [*project["nodes"].values(), *project["sources"].values()]
    return {
        f"{node['schema']}.{node.get('identifier') or node.get('alias') or node['name']}": node[
            "unique_id"
        ]
        for node in nodes
        if node["resource_type"] in ("model", "seed", "source")
    }


def _named_in(path: Path, relations: dict[str, str]) -> set[str]:
    return {
        relations[f"{schema}.{table}"]
        for schema, table in NAMED_RELATION.findall(path.read_text())
        if f"{schema}.{table}" in relations
    }


def test_each_exposure_depends_on_exactly_the_relations_its_modules_read(project):
    relations = _relations(project)
    assert project["exposures"], "no exposures declared"
    for exposure in project["exposures"].values():
        meta = exposure["config"]["meta"]
        read = set().union(*(_named_in(ROOT / module, relations) for module in meta["modules"]))
        for schema in meta.get("reads_schemas", []):
            read |= {uid for name, uid in relations.items() if name.startswith(f"{schema}.")}
        declared = set(exposure["depends_on"]["nodes"])
        assert declared == read, (
            f"{exposure['name']}: declared but not read {sorted(declared - read)}, "
            f"read but not declared {sorted(read - declared)}"
        )


def test_every_python_module_that_reads_dbt_relations_is_in_an_exposure(project):
    relations = _relations(project)
    declared = {
        module
        for exposure in project["exposures"].values()
        for module in exposure["config"]["meta"]["modules"]
    }
    readers = {
        str(path.relative_to(ROOT))
        for folder in PYTHON_READERS
        for path in (ROOT / folder).rglob("*.py")
        if _named_in(path, relations)
    }
    assert readers <= declared, sorted(readers - declared)
    assert declared <= readers | {"tagwise/publish.py"}, sorted(declared - readers)


def test_the_bi_publish_exposure_reads_the_published_schemas(project):
    (publish,) = (e for e in project["exposures"].values() if e["name"] == "bi_publish")
    assert publish["config"]["meta"]["reads_schemas"] == list(PUBLISHED_SCHEMAS)


def test_layers_flow_one_way_no_intermediate_model_reads_a_mart(project):
    models = {
        uid: node for uid, node in project["nodes"].items() if node["resource_type"] == "model"
    }

    def layer(node: dict) -> str:
        return node["fqn"][1]

    backwards = [
        (node["name"], models[parent]["name"])
        for node in models.values()
        if layer(node) == "intermediate" or node["name"].startswith("int_")
        for parent in node["depends_on"]["nodes"]
        if parent in models and layer(models[parent]) == "marts"
    ]
    assert not backwards, backwards
    staging_reads = {
        parent.split(".")[0]
        for node in models.values()
        if layer(node) == "staging"
        for parent in node["depends_on"]["nodes"]
    }
    assert staging_reads == {"source"}, staging_reads


def test_tables_python_writes_are_created_from_their_source_declarations(project, tmp_path):
    """The model's output and erasure's hashes are created by dbt's on-run-start hook from
    their sources' columns and data types, the one place those are written."""
    import os
    import subprocess
    import sys

    import duckdb

    from tagwise.dbt import PROJECT_DIR

    warehouse = tmp_path / "w.duckdb"
    subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--select", "build_info", "--quiet",
         "--target-path", str(tmp_path / "target")],
        cwd=PROJECT_DIR, env=os.environ | {"TAGWISE_WAREHOUSE": str(warehouse)}, check=True,
    )  # fmt: skip
    written_by_python = [
        s for s in project["sources"].values() if s["schema"] in ("model", "erasure")
    ]
    assert len(written_by_python) == 3
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for source in written_by_python:
            declared = [
                (c["name"], c["data_type"].replace(" ", "").upper().replace("STRING", "VARCHAR"))
                for c in source["columns"].values()
            ]
            created = con.execute(f"describe {source['schema']}.{source['name']}").fetchall()
            assert [(name, kind) for name, kind, *_ in created] == declared, source["name"]
