"""`tagwise init`: scaffold a deployment folder."""

from __future__ import annotations

from pathlib import Path

import click

from tagwise.cli.options import console


@click.command("init")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default=".")
def init_command(folder: Path) -> None:
    """Scaffold a deployment folder: the tag and segment catalogs, the taxonomy and
    synonyms, tagwise.env (settings) and an empty landing layout. Keep it in your own
    repository and run commands in it, or point them at it with --project."""
    from tagwise.project import init

    for path in init(folder):
        console.print(f"wrote {path}")
    console.print(
        f"deployment folder: {folder}. Land files in {folder / 'data' / 'landing'}, then "
        f"`tagwise --project {folder} run --as-of D`, D being the last day your data covers "
        "(a scheduled daily run leaves --as-of out: today)."
    )
