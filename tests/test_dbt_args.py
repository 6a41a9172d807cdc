"""The dbt invocation is built by pure functions; these pin what dbt receives."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tagwise.dbt import PROJECT_DIR, DbtSettings


def test_arguments_carry_the_as_of_date_target_and_selection():
    settings = DbtSettings(Path("w.duckdb"), date(2026, 6, 30))
    args = settings.args("build", select="marts")
    assert args[0] == "build"
    assert args[args.index("--project-dir") + 1] == str(PROJECT_DIR)
    assert args[args.index("--target") + 1] == "duckdb"
    assert json.loads(args[args.index("--vars") + 1]) == {"as_of_date": "2026-06-30"}
    assert args[-2:] == ["--select", "marts"]


def test_environment_points_profiles_at_an_absolute_warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = DbtSettings(Path("data/w.duckdb"), date(2026, 1, 1), target="spark").env()
    assert env == {"TAGWISE_WAREHOUSE": str(tmp_path / "data/w.duckdb"), "TAGWISE_TARGET": "spark"}


def test_the_project_directory_holds_the_dbt_project():
    assert (PROJECT_DIR / "dbt_project.yml").is_file()
