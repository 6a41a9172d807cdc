"""The built wheel, installed outside the checkout, runs a deployment folder as the source
tree runs: `tagwise init`, then `tagwise run` on a small sample, gives the same marts,
export files and published tables. On Python 3.11 and 3.13."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import rows_without_run_time

from tagwise.generator import GenerateConfig, generate

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".tools" / "bin" / "uv"
AS_OF = "2026-06-30"
# None of the checkout's settings, virtual environment or Dagster instance reaches the
# installed tagwise.
LEFT_OUT = ("TAGWISE_", "VIRTUAL_ENV", "PYTHONPATH", "DAGSTER_HOME", "UV_PROJECT")


def _environment() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(LEFT_OUT)}
    # Installed with bytecode, as `make install` installs: without it every process
    # compiles dbt and Dagster where PYTHONDONTWRITEBYTECODE is set.
    return kept | {"UV_COMPILE_BYTECODE": "1", "UV_PYTHON_DOWNLOADS": "never"}


def _run(args: list, cwd: Path, **environment: str) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_environment() | environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _interpreter(version: str) -> str:
    """The machine's Python X.Y (pyenv's shims pick it with PYENV_VERSION)."""
    found = subprocess.run(
        [f"python{version}", "-c", "import sys; print(sys.executable)"],
        env=os.environ | {"PYENV_VERSION": version},
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, f"Python {version} is not on this machine: {found.stderr}"
    return found.stdout.strip()


def _what_a_run_left(warehouse: Path, exports: Path) -> dict[str, list]:
    left: dict[str, list] = {}
    for database in (warehouse, warehouse.with_name("published.duckdb")):
        with duckdb.connect(str(database), read_only=True) as con:
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables()"
                " where schema_name in ('marts', 'main') order by all"
            ).fetchall():
                left[f"{database.name} {schema}.{table}"] = rows_without_run_time(
                    con, f"{schema}.{table}"
                )
    for path in sorted(exports.rglob("*")):
        if path.is_file():
            left[f"file {path.relative_to(exports)}"] = [path.read_bytes()]
    return left


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("sample") / "landing"
    generate(GenerateConfig(customers=300, seed=5, out=landing), workers=1)
    return landing


@pytest.fixture(scope="module")
def from_source_tree(sample, tmp_path_factory) -> dict[str, list]:
    """The same sample run by the checkout's tagwise, from the checkout."""
    out = tmp_path_factory.mktemp("source-tree")
    warehouse, exports = out / "warehouse.duckdb", out / "exports"
    tagwise = Path(sys.executable).with_name("tagwise")
    _run(
        [tagwise, "run", "--landing", sample, "--warehouse", warehouse, "--exports", exports,
         "--as-of", AS_OF],
        cwd=ROOT,
    )  # fmt: skip
    return _what_a_run_left(warehouse, exports)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([UV, "build", "--wheel", "--out-dir", out], cwd=ROOT)
    (built,) = out.glob("tagwise-*.whl")
    return built


@pytest.fixture(scope="module")
def locked_versions(tmp_path_factory) -> Path:
    """uv.lock's versions as pip constraints: the installed wheel runs what CI tests."""
    out = tmp_path_factory.mktemp("constraints") / "constraints.txt"
    _run(
        [UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project",
         "--output-file", out],
        cwd=ROOT,
    )  # fmt: skip
    return out


@pytest.mark.e2e
@pytest.mark.parametrize("version", ["3.11", "3.13"])
def test_the_installed_wheel_runs_a_deployment_folder_as_the_source_tree_does(
    version, wheel, locked_versions, sample, from_source_tree, tmp_path
):
    venv = tmp_path / "venv"
    _run([UV, "venv", "--python", _interpreter(version), venv], cwd=tmp_path)
    python, tagwise = venv / "bin" / "python", venv / "bin" / "tagwise"
    _run([UV, "pip", "install", "--python", python, wheel, "-c", locked_versions], cwd=tmp_path)

    # The dbt project and seeds come from the installed package, not from the checkout.
    shipped = _run(
        [
            python,
            "-c",
            "import sys, tagwise.project as p; print(sys.version_info[:2], p.shipped())",
        ],
        cwd=tmp_path,
    )
    assert f"({version.replace('.', ', ')})" in shipped
    assert f"{venv}/lib/python{version}/site-packages/tagwise/_bundle" in shipped

    deployment = tmp_path / "deployment"
    _run([tagwise, "init", deployment], cwd=tmp_path)
    for name in ("catalogs/tag_catalog.yml", "catalogs/segment_catalog.yml", "tagwise.env"):
        assert (deployment / name).is_file(), name
    shutil.copytree(sample, deployment / "data" / "landing", dirs_exist_ok=True)
    output = _run([tagwise, "--project", deployment, "run", "--as-of", AS_OF], cwd=tmp_path)
    assert "published to" in output, output

    # Dagster loads the installed code location for the folder.
    _run(
        [
            venv / "bin" / "dagster",
            "definitions",
            "validate",
            "-m",
            "tagwise.orchestration.definitions",
        ],
        cwd=tmp_path,
        TAGWISE_PROJECT=str(deployment),
    )

    found = _what_a_run_left(deployment / "data" / "warehouse.duckdb", deployment / "exports")
    assert sorted(found) == sorted(from_source_tree)
    assert [name for name in from_source_tree if found[name] != from_source_tree[name]] == []
    assert len(found["warehouse.duckdb marts.customer_tags"]) > 100
