"""The README's commands work as a newcomer types them.

Every command in the README's shell code blocks runs, in order, in a copy of the
repository, from a shell whose PATH has no virtual environment on it. Only the sample's
size is made smaller. Eight commands are not run here, each checked another way:
`make test` and `make test-spark` are what CI runs (`.ci/run`); the run on Spark and the
stop of its server are what the Spark parity test (`make test-spark`) runs, as written
here but on folders of its own; `make dagster`, a server, has its smoke test
(`test_dagster_dev_serves_the_code_location`); installing the wheel and `tagwise init`
(which would install into the user's own tools) are what
`test_the_installed_wheel_runs_a_deployment_folder_as_the_source_tree_does` does in a
virtual environment of its own; `make demo-completejourney` is what The Complete
Journey scenario (tests/test_completejourney_e2e.py) runs and checks. The FEBRL example
is the identity scenario's (tests/test_identity_e2e.py). `make install-spark` runs in the
repository itself: the copy shares its .venv, whose editable install must keep pointing
at the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.DOTALL | re.MULTILINE)
# Run by CI itself, or by a test of their own (see the module's docstring).
NOT_RUN_HERE = {
    "make test",
    "make test-spark",
    "make dagster",
    "uv tool install dist/tagwise-0.1.0-py3-none-any.whl",
    "tagwise init acme-tagwise",
}
# Run on Spark by the parity test (readme_spark_commands), which needs the spark extra.
RUN_BY_THE_SPARK_PARITY_TEST = (
    ".venv/bin/tagwise run --target spark ",
    ".venv/bin/tagwise spark-stop ",
)
# The FEBRL example, run by the identity scenario (tests/test_identity_e2e.py), which
# measures it.
RUN_BY_THE_IDENTITY_TEST = "data/febrl"
# The real-retailer demo, run by The Complete Journey scenario
# (tests/test_completejourney_e2e.py), which checks what it printed and wrote.
RUN_BY_THE_COMPLETEJOURNEY_TEST = "make demo-completejourney"
# Installs into the shared .venv: run where that .venv belongs.
RUN_IN_THE_REPOSITORY = {"make install-spark"}
SAMPLE_CUSTOMERS = "400"


def readme_commands(text: str) -> list[str]:
    """Each command of the shell blocks: continuation lines joined, comments dropped."""
    commands = []
    for block in SHELL_BLOCK.findall(text):
        joined = re.sub(r"\\\n\s*", "", block)
        for line in joined.splitlines():
            command = re.sub(r"(^|\s)#.*$", "", line).strip()
            if command:
                commands.append(command)
    return commands


def newcomers_environment() -> dict[str, str]:
    """A newcomer's shell: no virtual environment on PATH, no tagwise, Dagster or Spark
    settings of this machine's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAGWISE_", "DAGSTER_", "VIRTUAL_ENV", "SPARK_"))
    }
    return env | {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def smaller(command: str) -> str:
    """The same command on a sample small enough for a test."""
    command = re.sub(r"--customers \d+", f"--customers {SAMPLE_CUSTOMERS}", command)
    if re.fullmatch(r"make demo", command):
        command += f" DEMO_CUSTOMERS={SAMPLE_CUSTOMERS}"
    return command


def test_commands_are_read_from_every_shell_block():
    text = "```sh\na \\\n  --b  # note\n# only a comment\n```\n```text\nnot run\n```\n```bash\nc\n```\n"
    assert readme_commands(text) == ["a --b", "c"]
    assert smaller("make demo") == f"make demo DEMO_CUSTOMERS={SAMPLE_CUSTOMERS}"
    assert "--customers 10000" not in smaller("x generate --customers 10000 --seed 7")


def test_the_commands_left_to_ci_are_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test\n" in ci and "make test-spark" in ci
    assert (
        "test_dagster_dev_serves_the_code_location"
        in (ROOT / "tests" / "test_orchestration.py").read_text()
    )
    assert (
        "def test_the_installed_wheel_runs_a_deployment_folder_as_the_source_tree_does"
        in (ROOT / "tests" / "test_install.py").read_text()
    )
    assert (
        "run, stop = readme_spark_commands("
        in (ROOT / "tests" / "test_spark_parity.py").read_text()
    )


def _copy_of_the_repository(into: Path) -> Path:
    """The tracked files (modification times kept, so make sees .venv as up to date),
    with the installed .venv and .tools linked in: `make demo` installs nothing again."""
    stamp = ROOT / ".venv" / ".installed"
    if not stamp.exists() or stamp.stat().st_mtime < max(
        (ROOT / name).stat().st_mtime for name in ("pyproject.toml", "uv.lock")
    ):
        pytest.fail(".venv is older than pyproject.toml or uv.lock: run `make install` first")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    repo = into / "repo"
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    for installed in (".venv", ".tools"):
        (repo / installed).symlink_to(ROOT / installed)
    return repo


def test_every_readme_command_runs_in_order(tmp_path):
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert commands[:2] == ["make demo", "make test"], "the quickstart is two commands"
    repo = _copy_of_the_repository(tmp_path)
    env = newcomers_environment()
    ran = []
    for command in commands:
        if (
            command in NOT_RUN_HERE
            or command.startswith(RUN_BY_THE_SPARK_PARITY_TEST)
            or RUN_BY_THE_IDENTITY_TEST in command
            or command == RUN_BY_THE_COMPLETEJOURNEY_TEST
        ):
            continue
        done = subprocess.run(
            ["bash", "-c", smaller(command)],
            cwd=ROOT if command in RUN_IN_THE_REPOSITORY else repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert done.returncode == 0, (
            f"README command failed: {command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        ran.append(command)
    febrl = [c for c in commands if RUN_BY_THE_IDENTITY_TEST in c]
    left = [
        c
        for c in commands
        if c in NOT_RUN_HERE
        or c.startswith(RUN_BY_THE_SPARK_PARITY_TEST)
        or c in febrl
        or c == RUN_BY_THE_COMPLETEJOURNEY_TEST
    ]
    assert febrl, "the README's FEBRL example is gone: tests/test_identity_e2e.py runs it"
    assert len(left) == (
        len(NOT_RUN_HERE & set(commands)) + len(RUN_BY_THE_SPARK_PARITY_TEST) + len(febrl) + 1
    )
    assert len(ran) == len(commands) - len(left)
    assert (repo / "data" / "demo" / "published.duckdb").is_file()
    assert (repo / "data" / "cdnow" / "model" / "holdout-1997-09-30.html").is_file()
    assert (repo / "dbt_project" / "target" / "catalog.json").is_file()
