"""The dbt invocation is built by pure functions; these pin what dbt receives."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tagwise.dbt import DbtSettings
from tagwise.dbt_project import PROJECT_DIR
from tagwise.spark import SparkSettings


def test_arguments_carry_the_target_and_selection_and_the_environment_the_as_of_date():
    settings = DbtSettings(Path("w.duckdb"), date(2026, 6, 30))
    args = settings.args("build", select="marts")
    assert args[0] == "build"
    assert args[args.index("--project-dir") + 1] == str(PROJECT_DIR)
    assert args[args.index("--target") + 1] == "duckdb"
    assert "--vars" not in args  # a changed --vars would make dbt parse everything again
    assert settings.env()["TAGWISE_AS_OF_DATE"] == "2026-06-30"
    assert args[-2:] == ["--select", "marts"]


def test_environment_points_profiles_at_an_absolute_warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = DbtSettings(Path("data/w.duckdb"), date(2026, 1, 1)).env()
    assert env["TAGWISE_WAREHOUSE"] == str(tmp_path / "data/w.duckdb")
    assert env["TAGWISE_TARGET"] == "duckdb"


def test_dbt_gets_the_settings_and_its_profile_defaults_are_theirs(setting):
    """tagwise passes every setting profiles.yml reads; the profile's own defaults (for
    dbt run by hand in dbt_project/) are the settings' defaults, the warehouse's relative
    to dbt_project/."""
    import re

    from tagwise.settings import Settings, variable

    setting("TAGWISE_THREADS", "3")
    env = DbtSettings(Path("w.duckdb"), date(2026, 1, 1)).env()
    assert env["TAGWISE_THREADS"] == "3" and env["TAGWISE_MEMORY_LIMIT"] == "4GB"
    profile = (PROJECT_DIR / "profiles.yml").read_text()
    read = dict(re.findall(r"env_var\('(\w+)', '([^']*)'\)", profile))
    defaults = {variable(name): field.default for name, field in Settings.model_fields.items()}
    for name, default in read.items():
        if name == "SPARK_REMOTE":  # tagwise always passes it; by hand dbt-spark runs local
            continue
        expected = f"../{defaults[name]}" if name == "TAGWISE_WAREHOUSE" else str(defaults[name])
        assert default == expected, name
    assert set(read) - {"SPARK_REMOTE"} <= set(env)


def test_the_spark_target_reaches_the_local_server_of_the_warehouse_folder(
    tmp_path, monkeypatch, setting
):
    monkeypatch.chdir(tmp_path)
    for name in ("SPARK_REMOTE", "TAGWISE_SPARK_HOME"):
        setting(name, None)
    env = DbtSettings(Path("data/w.duckdb"), date(2026, 1, 1), target="spark").env()
    home = tmp_path / "data" / "spark"
    assert env["TAGWISE_TARGET"] == "spark"
    assert env["SPARK_REMOTE"] == "local[2]"
    assert env["SPARK_LOCAL_CONNECT_REUSE"] == "1"
    assert env["SPARK_LOCAL_CONNECT_DISCOVERY"] == str(home / "connect.json")
    conf = SparkSettings.for_warehouse(Path("data/w.duckdb")).server_conf()
    assert conf["spark.sql.warehouse.dir"] == str(home / "warehouse")
    assert str(home / "metastore_db") in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]


def test_a_cluster_endpoint_is_used_as_it_is(setting):
    setting("SPARK_REMOTE", "sc://spark.example:15002")
    settings = SparkSettings.for_warehouse(Path("w.duckdb"))
    assert not settings.is_local
    assert settings.env()["SPARK_REMOTE"] == "sc://spark.example:15002"
    assert "SPARK_LOCAL_CONNECT_REUSE" not in settings.env()


def test_the_project_directory_holds_the_dbt_project():
    assert (PROJECT_DIR / "dbt_project.yml").is_file()


def test_dbt_run_by_hand_in_dbt_project_finds_the_demo_warehouse():
    """The README's `cd dbt_project && dbt docs generate` reads data/warehouse.duckdb of the
    repository, not a dbt_project/data/ that does not exist."""
    import os
    import re
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGWISE_")}
    dbt = Path(sys.executable).with_name("dbt")
    demo = PROJECT_DIR.parent / "data"
    existed = {p for p in demo.rglob("*")} if demo.exists() else None
    try:
        shown = subprocess.run(
            [str(dbt), "debug", "--no-use-colors"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        # dbt debug opens (so creates) the warehouse: the checkout keeps none it had not.
        for made in sorted(set(demo.rglob("*")) - (existed or set()), reverse=True):
            made.rmdir() if made.is_dir() else made.unlink()
        if existed is None and demo.exists():
            demo.rmdir()
    path = re.search(r"^\S*\s+path: (\S+)$", shown, re.MULTILINE)
    assert path, shown
    assert (
        PROJECT_DIR / path.group(1)
    ).resolve() == PROJECT_DIR.parent / "data" / "warehouse.duckdb"


@pytest.mark.parametrize(
    ("temp_dir", "spills_to"),
    [("", "/data/w.duckdb.tmp"), ("/scratch/spill", "/scratch/spill")],
)
def test_duckdb_spills_beside_the_warehouse_unless_told_where(temp_dir, spills_to):
    """An empty temp_directory turns spilling off: a million customers' first key tests
    then ran out of memory instead of spilling past the memory limit."""
    import jinja2
    import yaml

    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    template = profile["tagwise"]["outputs"]["duckdb"]["config_options"]["temp_directory"]
    env = {"TAGWISE_WAREHOUSE": "/data/w.duckdb", "TAGWISE_TEMP_DIR": temp_dir}
    rendered = jinja2.Template(template).render(
        env_var=lambda name, default="": env.get(name, default)
    )
    assert rendered == spills_to


def test_looking_for_changed_sources_never_enters_what_dbt_writes(tmp_path, monkeypatch):
    """Another process's dbt creates and removes run folders under target/ while a command
    checks whether the manifest is stale: those folders are never listed (the README's
    demo beside a running test failed listing one that had just been removed)."""
    import os

    from tagwise import dbt

    project, seeds = tmp_path / "dbt_project", tmp_path / "seeds"
    (project / "models").mkdir(parents=True)
    (project / "models" / "m.sql").write_text("select 1")
    (project / "target" / "runs" / "r1").mkdir(parents=True)
    seeds.mkdir()
    monkeypatch.setattr(dbt, "PROJECT_DIR", project)
    monkeypatch.setattr(dbt, "SEEDS_DIR", seeds)
    listed = []
    real_scandir = os.scandir

    def scandir(path="."):
        listed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    newest = dbt._newest_source_change()
    assert newest == (project / "models" / "m.sql").stat().st_mtime
    assert listed and not [p for p in listed if "target" in p]
