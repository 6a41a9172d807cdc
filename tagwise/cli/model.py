"""`tagwise evaluate-model` and `import-cdnow`: checking the predictive model on held-out data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from tagwise.cli.options import console, parse_day, warehouse_option


@click.command("evaluate-model")
@warehouse_option
@click.option(
    "--calibration-end", callback=parse_day, required=True, help="Fit on purchases up to this day."
)
@click.option(
    "--holdout-end",
    callback=parse_day,
    default=None,
    help="Compare up to this day [default: the build's as-of date].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("exports/model"),
    show_default=True,
)
def evaluate_model_command(
    warehouse: Path, calibration_end: date, holdout_end: date | None, out: Path
) -> None:
    """Fit on data up to a date and compare predicted with actual purchases after it."""
    from tagwise.errors import TagwiseError
    from tagwise.model.evaluate import evaluate

    try:
        result = evaluate(warehouse, calibration_end, out, holdout_end)
    except ValueError as error:  # too few repeat customers, or a holdout ending too soon
        raise TagwiseError(str(error)) from None
    console.print(
        f"holdout {result.calibration_end} to {result.holdout_end}: {result.customers:,} customers, "
        f"predicted {result.predicted_total:,.0f} purchases, actual {result.actual_total:,}; "
        f"per customer MAE {result.mean_absolute_error:.3f}, correlation {result.correlation:.3f}"
    )
    console.print(f"report: {result.files[0]}  per customer: {result.files[1]}")


@click.command("import-cdnow")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/cdnow/landing"),
    show_default=True,
)
def import_cdnow_command(source: Path, out: Path) -> None:
    """Convert the CDNOW transaction log (CDNOW_sample.txt or CDNOW_master.txt) to landing files."""
    from tagwise.model.cdnow import write_landing

    written = write_landing(source, out)
    console.print(", ".join(f"{name}: {rows:,}" for name, rows in written.items()) + f" -> {out}")
