"""A warehouse the previous release wrote is upgraded in place by this one, and the next
run gives the tables a fresh build by this release gives.

The previous release is a pinned commit of this repository, taken from git into a
temporary folder and run with this checkout's installed dependencies (its own code, dbt
project and catalogs). A clone without that commit fails here, naming it. This release
runs with the previous release's catalogs (a deployment folder holding them): a
definition it ships that is new since then enters history on the day of the upgrade,
where a fresh build dates it from its first run, and that is a catalog change, not an
upgrade.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import duckdb
import pytest
from conftest import rows_without_run_time

from tagwise.generator import GenerateConfig, generate
from tagwise.migrations import LATEST
from tagwise.project import OWNED, init

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[1]
# The last commit before warehouse upgrades were numbered (tagwise.migrations).
PREVIOUS_RELEASE = "87d44c2c0b8ab8c7ef44144a99060a6226bde631"
D1 = date(2026, 6, 30)
D2 = D1 + timedelta(days=1)
COMPARED_SCHEMAS = ("marts", "restricted")


def previous_release(folder: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", PREVIOUS_RELEASE],
        capture_output=True, check=False,
    )  # fmt: skip
    assert archive.returncode == 0, (
        f"the previous release {PREVIOUS_RELEASE} is not in this clone: "
        f"{archive.stderr.decode().strip()}"
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run(
    code: Path | None, landing: Path, warehouse: Path, exports: Path, day: date, env: dict
) -> str:
    """`tagwise run` of the previous release (its modules first on the path) or, without
    `code`, of this one; what it printed."""
    result = subprocess.run(
        [sys.executable, "-c", "from tagwise.cli import main; main()", "run",
         "--landing", str(landing), "--warehouse", str(warehouse),
         "--exports", str(exports), "--as-of", day.isoformat()],
        cwd=code or warehouse.parent, capture_output=True, text=True, check=False,
        env=os.environ | {"DAGSTER_HOME": str(warehouse.parent)} | env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def with_catalogs_of(code: Path, folder: Path) -> Path:
    """A deployment folder holding the catalogs and seeds `code` shipped."""
    init(folder)
    for owned, shipped in OWNED.items():
        if (code / shipped).is_file():
            shutil.copyfile(code / shipped, folder / owned)
    return folder


def tables(warehouse: Path) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                f"where table_schema in {COMPARED_SCHEMAS} order by all"
            ).fetchall()
        ]
        return {name: rows_without_run_time(con, name) for name in names}


def test_a_warehouse_the_previous_release_wrote_upgrades_and_then_matches_a_fresh_build(
    tmp_path,
):
    landing = tmp_path / "landing"
    generate(GenerateConfig(customers=600, seed=11, out=landing, end=D1), workers=1)
    code = previous_release(tmp_path / "previous")

    previous_catalogs = {"TAGWISE_PROJECT": str(with_catalogs_of(code, tmp_path / "project"))}
    upgraded = tmp_path / "upgraded" / "warehouse.duckdb"
    upgraded.parent.mkdir()
    run(code, landing, upgraded, tmp_path / "upgraded" / "exports", D1, {"PYTHONPATH": str(code)})
    with duckdb.connect(str(upgraded), read_only=True) as con:
        assert "meta" not in {
            s for (s,) in con.execute("select schema_name from duckdb_schemas()").fetchall()
        }
    printed = run(None, landing, upgraded, tmp_path / "upgraded" / "exports", D2, previous_catalogs)
    assert "warehouse upgraded: step 1," in " ".join(printed.split())

    fresh = tmp_path / "fresh" / "warehouse.duckdb"
    fresh.parent.mkdir()
    for day in (D1, D2):
        run(None, landing, fresh, tmp_path / "fresh" / "exports", day, previous_catalogs)

    with duckdb.connect(str(upgraded), read_only=True) as con:
        assert con.execute("select max(version) from meta.schema_migrations").fetchall() == [
            (LATEST,)
        ]
    upgraded_tables, fresh_tables = tables(upgraded), tables(fresh)
    assert upgraded_tables.keys() == fresh_tables.keys()
    differ = [name for name in fresh_tables if upgraded_tables[name] != fresh_tables[name]]
    assert not differ, differ
    assert len(fresh_tables) > 30
