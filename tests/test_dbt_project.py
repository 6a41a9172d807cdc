"""The dbt project as an interface: every reader outside dbt is a declared exposure."""

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from tagwise.orchestration.dbt.project import manifest

from tagwise.activation.kinds import AUDIENCES
from tagwise.publish import PUBLISHED_SCHEMAS

ROOT = Path(__file__).parents[1]
PYTHON_READERS = ("tagwise", "orchestration", "expectations")
# schema.table as SQL names a relation.
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


def _named_in(path: Path, project: dict) -> set[str]:
    """unique_id of each relation the module reads through tagwise.relations: each
    ref("model") and source("source", "table") call with written-out names (and the
    audiences of the destinations, which name their dbt model: tagwise.activation.changes)."""
    by_name = {
        (("ref", node["name"]) if node["resource_type"] != "source"
         else ("source", node["source_name"], node["name"])): node["unique_id"]
        for node in [*project["nodes"].values(), *project["sources"].values()]
        if node["resource_type"] in ("model", "seed", "source")
    }  # fmt: skip
    named = set()
    for call in ast.walk(ast.parse(path.read_text())):
        if not isinstance(call, ast.Call):
            continue
        # ref(...) and source(...), or relations.ref(...) where a name would be shadowed
        function = getattr(call.func, "id", None) or (
            call.func.attr
            if isinstance(call.func, ast.Attribute)
            and getattr(call.func.value, "id", None) == "relations"
            else None
        )
        if function in ("ref", "source"):
            args = tuple(arg.value for arg in call.args if isinstance(arg, ast.Constant))
            if len(args) == len(call.args):
                named.add(by_name[(function, *args)])
    if path == ROOT / "tagwise" / "activation" / "changes.py":
        named.add(by_name[("ref", AUDIENCES)])
    return named


def _strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal in a module but its docstrings."""
    tokens = [
        t for t in tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        if t.type not in (tokenize.NL, tokenize.COMMENT)
    ]  # fmt: skip
    statement_ends = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    return [
        (token.start[0], token.string)
        for i, token in enumerate(tokens)
        if token.type == tokenize.STRING
        and not (
            (i == 0 or tokens[i - 1].type in statement_ends)
            and tokens[i + 1].type in (tokenize.NEWLINE, tokenize.ENDMARKER)
        )
    ]


def test_python_names_dbt_relations_only_through_the_relations_module(project):
    """No `schema.table` string of a dbt model, seed or source in Python: each is resolved
    from the manifest by tagwise.relations.ref and source, as dbt's SQL does."""
    relations = _relations(project)
    written = [
        f"{path.relative_to(ROOT)}:{line}: {schema}.{table}"
        for folder in PYTHON_READERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, text in _strings(path)
        for schema, table in NAMED_RELATION.findall(text)
        if f"{schema}.{table}" in relations
    ]
    assert written == []


def test_the_relations_module_resolves_names_as_dbt_does(project):
    from tagwise.relations import ref, source

    assert ref("customer_tags") == "marts.customer_tags"
    assert ref("int_identity__identifiers") == "restricted.int_identity__identifiers"
    assert source("model", "customer_predictions") == "model.customer_predictions"
    assert source("shop", "orders") == "raw.orders"
    with pytest.raises(KeyError, match="no dbt model or seed named 'customer_tag'"):
        ref("customer_tag")
    with pytest.raises(KeyError, match=r"no dbt source shop\.order"):
        source("shop", "order")


def test_each_exposure_depends_on_exactly_the_relations_its_modules_read(project):
    relations = _relations(project)
    assert project["exposures"], "no exposures declared"
    for exposure in project["exposures"].values():
        meta = exposure["config"]["meta"]
        read = set().union(*(_named_in(ROOT / module, project) for module in meta["modules"]))
        for schema in meta.get("reads_schemas", []):
            read |= {uid for name, uid in relations.items() if name.startswith(f"{schema}.")}
        declared = set(exposure["depends_on"]["nodes"])
        assert declared == read, (
            f"{exposure['name']}: declared but not read {sorted(declared - read)}, "
            f"read but not declared {sorted(read - declared)}"
        )


def test_every_python_module_that_reads_dbt_relations_is_in_an_exposure(project):
    declared = {
        module
        for exposure in project["exposures"].values()
        for module in exposure["config"]["meta"]["modules"]
    }
    readers = {
        str(path.relative_to(ROOT))
        for folder in PYTHON_READERS
        for path in (ROOT / folder).rglob("*.py")
        if _named_in(path, project)
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

    from tagwise.dbt_project import PROJECT_DIR

    warehouse = tmp_path / "w.duckdb"
    subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--select", "build_info", "--quiet",
         "--target-path", str(tmp_path / "target")],
        cwd=PROJECT_DIR, env=os.environ | {"TAGWISE_WAREHOUSE": str(warehouse)}, check=True,
    )  # fmt: skip
    written_by_python = [
        s for s in project["sources"].values() if s["schema"] in ("model", "erasure")
    ]
    assert len(written_by_python) == 7
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for source in written_by_python:
            declared = [
                (c["name"], c["data_type"].replace(" ", "").upper().replace("STRING", "VARCHAR"))
                for c in source["columns"].values()
            ]
            created = con.execute(f"describe {source['schema']}.{source['name']}").fetchall()
            assert [(name, kind) for name, kind, *_ in created] == declared, source["name"]


def test_the_history_models_keep_history_with_one_incremental_configuration(project):
    """customer_tag_history and segment_membership_history are maintained the same way: a
    column a release adds is appended to the history a warehouse already holds."""
    configs = []
    for name in ("customer_tag_history", "segment_membership_history"):
        [node] = [n for n in project["nodes"].values() if n["name"] == name]
        config = node["config"]
        configs.append(
            {
                k: config[k]
                for k in ("materialized", "incremental_strategy", "unique_key", "on_schema_change")
            }
        )
    assert configs[0] == configs[1]
    assert configs[0]["on_schema_change"] == "append_new_columns"
