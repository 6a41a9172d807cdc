"""Deployment folders (`tagwise init`, `--project`) and the wheel that ships the dbt project."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tagwise import project
from tagwise.contract import SOURCES
from tagwise.project import OWNED, ProjectError, assemble, init, shipped
from tagwise.settings import Settings, variable

ROOT = Path(__file__).resolve().parent.parent
TAGWISE = Path(sys.executable).with_name("tagwise")


def test_init_scaffolds_a_deployment_folder_and_never_overwrites_one(tmp_path):
    folder = tmp_path / "acme"
    written = init(folder)
    assert sorted(p.relative_to(folder).as_posix() for p in written) == sorted(
        [*OWNED, ".gitignore", "tagwise.env"]
    )
    for name, where in OWNED.items():
        assert (folder / name).read_bytes() == (shipped() / where).read_bytes()
    assert sorted(p.name for p in (folder / "data" / "landing").iterdir()) == sorted(
        s.name for s in SOURCES
    )
    # Every setting is in tagwise.env, commented out: the file changes nothing until edited.
    text = (folder / "tagwise.env").read_text()
    for name in Settings.model_fields:
        if name != "project":
            assert f"\n# {variable(name)}=" in text, name
    assert not [line for line in text.splitlines() if line and not line.startswith("#")]

    (folder / "catalogs" / "tag_catalog.yml").write_text("# ours\n")
    with pytest.raises(ProjectError, match="already a deployment folder"):
        init(folder)
    assert (folder / "catalogs" / "tag_catalog.yml").read_text() == "# ours\n"


def test_settings_come_from_the_folders_tagwise_env_and_the_environment_wins(setting, tmp_path):
    from tagwise.settings import current

    folder = tmp_path / "acme"
    init(folder)
    with (folder / "tagwise.env").open("a") as env:
        env.write("TAGWISE_WAREHOUSE=w/acme.duckdb\nTAGWISE_THREADS=3\nTAGWISE_TEMP_DIR=/spill\n")
    for name in ("TAGWISE_WAREHOUSE", "TAGWISE_THREADS", "TAGWISE_LANDING", "TAGWISE_TEMP_DIR"):
        setting(name, None)
    setting("TAGWISE_PROJECT", str(folder))
    settings = current()
    assert settings.warehouse == folder / "w" / "acme.duckdb"
    assert settings.landing == folder / "data" / "landing"
    assert (settings.threads, settings.temp_dir) == (3, "/spill")

    setting("TAGWISE_THREADS", "4")
    assert current().threads == 4


def test_outside_a_deployment_folder_settings_and_the_project_are_as_shipped(setting, tmp_path):
    from tagwise.settings import current

    setting("TAGWISE_PROJECT", str(tmp_path))
    setting("TAGWISE_WAREHOUSE", None)
    assert current().warehouse == tmp_path / "data" / "warehouse.duckdb"
    assert (
        project.owned("catalogs/tag_catalog.yml") == shipped() / OWNED["catalogs/tag_catalog.yml"]
    )


def test_the_working_copy_links_the_folders_files_and_follows_the_shipped_project(tmp_path):
    folder = tmp_path / "acme"
    init(folder)
    copy = assemble(folder)
    assert copy == folder.resolve() / ".tagwise"
    for name, where in OWNED.items():
        assert (copy / where).is_symlink() and (copy / where).resolve() == (folder / name).resolve()
    dbt_project_yml = copy / "dbt_project" / "dbt_project.yml"
    assert (
        dbt_project_yml.read_bytes() == (shipped() / "dbt_project" / "dbt_project.yml").read_bytes()
    )
    assert not (copy / "dbt_project" / "target").exists()

    # What dbt wrote stays; a file the shipped project does not have goes; an unchanged
    # file is not written again (dbt parses the project again only after a change).
    (copy / "dbt_project" / "target").mkdir()
    (copy / "dbt_project" / "target" / "manifest.json").write_text("{}")
    stale = copy / "dbt_project" / "models" / "marts" / "removed_model.sql"
    stale.write_text("select 1")
    edited = copy / "dbt_project" / "macros" / "as_of.sql"
    edited.write_text("-- edited by hand")
    written_at = dbt_project_yml.stat().st_mtime_ns
    assemble(folder)
    assert (copy / "dbt_project" / "target" / "manifest.json").exists()
    assert not stale.exists()
    assert edited.read_bytes() == (shipped() / "dbt_project" / "macros" / "as_of.sql").read_bytes()
    assert dbt_project_yml.stat().st_mtime_ns == written_at


def test_a_working_copy_never_walks_what_dbt_writes_in_the_checkout(monkeypatch):
    """CI: `tagwise diff --project` failed with FileNotFoundError, walking into
    dbt_project/target/runs/<run> while another worker's run pruned that folder. Here any
    listing under target/ fails as that one did."""
    import os

    (shipped() / "dbt_project" / "target").mkdir(exist_ok=True)
    listing = os.scandir

    def pruned_meanwhile(path="."):
        if "target" in Path(path).parts:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", pruned_meanwhile)
    files = project._shipped_files()
    assert Path("dbt_project/dbt_project.yml") in files
    assert Path("seeds/tag_taxonomy.csv") in files
    assert [f for f in files if {"target", "logs"} & set(f.parts)] == []


def test_a_deployment_folder_without_its_catalog_is_refused_by_name(tmp_path):
    folder = tmp_path / "acme"
    init(folder)
    (folder / "catalogs" / "segment_catalog.yml").unlink()
    with pytest.raises(ProjectError, match=r"lacks catalogs/segment_catalog\.yml"):
        assemble(folder)


def test_a_linked_working_copy_is_refused_and_nothing_it_points_at_is_deleted(tmp_path):
    """Issue 40, item 15: `.tagwise` linked to another folder made every command delete
    the files of that folder. A link, and a linked folder inside a real working copy, are
    never followed."""
    folder, elsewhere = tmp_path / "acme", tmp_path / "precious"
    init(folder)
    elsewhere.mkdir()
    (elsewhere / "thesis.txt").write_text("years of work")
    (folder / ".tagwise").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ProjectError, match="not a directory of its own"):
        assemble(folder)
    assert (elsewhere / "thesis.txt").read_text() == "years of work"

    (folder / ".tagwise").unlink()
    assemble(folder)
    (folder / ".tagwise" / "linked").symlink_to(elsewhere, target_is_directory=True)
    assemble(folder)
    assert (elsewhere / "thesis.txt").read_text() == "years of work"
    assert not (folder / ".tagwise" / "linked").exists()


def test_git_ignores_a_working_copy_link_and_init_completes_a_folders_own_gitignore(tmp_path):
    """Issue 40, items 15 and 25: `.tagwise/` ignored only a directory, so git committed a
    link of that name; `init` in a folder with its own .gitignore left the data unignored."""
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / ".gitignore").write_text("*.pyc")
    init(folder)
    assert (folder / ".gitignore").read_text() == "*.pyc\n/.tagwise\n/data\n/exports\n"
    (folder / ".tagwise").symlink_to(tmp_path, target_is_directory=True)
    (folder / "data" / "warehouse.duckdb").write_text("")
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    ignored = subprocess.run(
        ["git", "-C", str(folder), "check-ignore", ".tagwise", "data/warehouse.duckdb"],
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert ignored == [".tagwise", "data/warehouse.duckdb"]


def test_the_command_line_reads_no_setting_before_its_project_option():
    """A setting read while the commands are registered would pin the current folder's
    project before `--project` is seen (tagwise.dbt reads it on import)."""
    # --help shows each setting's own default (the Settings class), but nothing reads one.
    script = (
        "import sys, tagwise.cli; from tagwise.settings import current; "
        "print(current.cache_info().currsize, 'tagwise.dbt' in sys.modules)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout  # fmt: skip
    assert loaded.split() == ["0", "False"]


@pytest.mark.parametrize("where", ["before", "after"])
def test_check_names_the_deployment_folders_own_catalog(tmp_path, where):
    """`--project` before or after the command's name; the error names the team's file."""
    folder = tmp_path / "acme"
    init(folder)
    catalog = folder / "catalogs" / "tag_catalog.yml"
    document = yaml.safe_load(catalog.read_text())
    document["models"][0]["config"]["meta"]["rules"][0]["tag"] = "no-such-tag"
    catalog.write_text(yaml.safe_dump(document))
    args = (
        ["--project", str(folder), "check"]
        if where == "before"
        else ["check", "--project", str(folder)]
    )
    checked = subprocess.run([TAGWISE, *args], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode != 0
    message = " ".join(checked.stderr.split())
    assert f"{catalog} has 1 problem(s)" in message, checked.stderr
    assert "no-such-tag" in message


def test_the_wheel_holds_what_the_cli_needs_and_nothing_dbt_wrote(tmp_path):
    subprocess.run(
        [ROOT / ".tools" / "bin" / "uv", "build", "--wheel", "--out-dir", tmp_path],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("tagwise-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", "dbt_project", "seeds", "tagwise", "orchestration", "expectations"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    inside = {"dbt_project": "tagwise/_bundle/dbt_project", "seeds": "tagwise/_bundle/seeds",
              "orchestration": "tagwise/orchestration", "expectations": "tagwise/expectations"}  # fmt: skip
    expected = {
        inside.get(name.split("/")[0], name.split("/")[0]) + name[name.index("/") :]
        for name in tracked
    }
    assert sorted(expected - names) == []
    # Issue 41: top-level packages named orchestration and expectations landed in
    # site-packages, where anything else of that name collides with them.
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"tagwise"}
    assert [n for n in names if "/target/" in n or "/logs/" in n or "__pycache__" in n] == []
    assert "tagwise-0.1.0.dist-info/entry_points.txt" in names
