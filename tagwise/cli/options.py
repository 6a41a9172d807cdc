"""What the commands share: the console, the date parser and the common options.

Light by design: `tagwise --help` imports this and every command module, so nothing here
(or at the top of a command module) may import dbt, Dagster, Great Expectations or Spark.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click
from rich.console import Console

# Wide enough for the summary tables when output goes to a log rather than a terminal.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


def from_settings(name: str) -> Callable[[], object]:
    """An option's default: the setting (tagwise.settings), read only when a command runs
    so that `--help` stays fast."""

    def default():
        from tagwise.settings import current

        return getattr(current(), name)

    return default


def setting_shown(name: str) -> str:
    """What --help shows as an option's default: its variable, else the setting's own
    default (relative paths are relative to the deployment folder)."""
    from tagwise.settings import Settings

    default = Settings.model_fields[name].default
    return f"${'TAGWISE_' + name.upper()}, else {default}"


def parse_day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from error


def use_project(_ctx, _param, value: Path | None) -> None:
    """Run in a deployment folder: set before any setting is read (the option is eager)."""
    if value is not None:
        os.environ["TAGWISE_PROJECT"] = str(value.resolve())


# On the group and on every command: `tagwise --project DIR run` and `tagwise run --project DIR`.
project_option = click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    is_eager=True,
    expose_value=False,
    callback=use_project,
    help="Deployment folder (`tagwise init`): its catalogs, seeds and tagwise.env. "
    "Default: $TAGWISE_PROJECT or the current folder.",
)
landing_option = click.option(
    "--landing",
    type=click.Path(path_type=Path, file_okay=False),
    default=from_settings("landing"),
    show_default=setting_shown("landing"),
    help="Landing directory: one folder per source.",
)
warehouse_option = click.option(
    "--warehouse",
    type=click.Path(path_type=Path, dir_okay=False),
    default=from_settings("warehouse"),
    show_default=setting_shown("warehouse"),
    help="DuckDB warehouse file.",
)
exports_option = click.option(
    "--exports",
    type=click.Path(path_type=Path, file_okay=False),
    default=from_settings("exports"),
    show_default=setting_shown("exports"),
    help="Folder for change sets and audience snapshots.",
)
target_option = click.option(
    "--target",
    type=click.Choice(["duckdb", "spark"]),
    default=from_settings("target"),
    show_default=setting_shown("target"),
    help="Engine: embedded DuckDB, or Spark (needs the spark extra; see the README).",
)
verify_option = click.option(
    "--verify-content",
    is_flag=True,
    help="Read and hash files logged with the same name, size and time too (a corrected "
    "file copied with its time kept, as cp -p, rsync -t and tar do).",
)


def built_warehouse(command: Callable) -> Callable:
    """The command reads a built warehouse: without one it refuses in one sentence and
    creates nothing (no empty warehouse, no lock file)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from tagwise.warehouse import require_built

        require_built(kwargs["warehouse"])
        return command(*args, **kwargs)

    return wrapper


def holds_warehouse(command: Callable) -> Callable:
    """A writing command holds the warehouse throughout; a second writer is refused (exit 1)
    before anything slow is imported. A warehouse an earlier release wrote is upgraded
    first (tagwise.migrations), and the command says so."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from tagwise.warehouse import WarehouseLock

        with WarehouseLock(kwargs["warehouse"]):
            from tagwise.migrations import describe, upgrade

            # A missing warehouse is refused before this (built_warehouse) or is the
            # command's to create (ingest): it is created here, recording every step.
            if upgraded := upgrade(kwargs["warehouse"], create=True):
                console.print(describe(upgraded))
            return command(*args, **kwargs)

    return wrapper


def check_catalogs() -> None:
    """Validate the catalogs (before dbt renders their text) and say so."""
    from tagwise import catalog

    rules, definitions, destinations, identity_rules = catalog.check_catalogs()
    console.print(
        f"tag catalog: {rules} rules valid; segment catalog: {definitions} definitions valid; "
        f"destination catalog: {destinations} destinations valid; identity catalog: "
        f"{identity_rules} rules valid"
    )
