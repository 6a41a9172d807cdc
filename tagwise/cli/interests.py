"""`tagwise evaluate-interests`: the interests model against its baselines, as of a date."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import click

from tagwise.cli.options import console, parse_day, target_option, warehouse_option


@click.command("evaluate-interests")
@warehouse_option
@target_option
@click.option(
    "--as-of", "as_of", callback=parse_day, required=True, help="Read nothing after this day."
)
@click.option(
    "--horizon",
    type=click.IntRange(7, 365),
    default=90,
    show_default=True,
    help="Days predicted (H): fitted on features as of D - 2H, scored on D - H to D.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("exports/model"),
    show_default=True,
)
def evaluate_interests_command(
    warehouse: Path, target: str, as_of: date, horizon: int, out: Path
) -> None:
    """Which categories customers buy next: the model's hit rate and precision at 3 beside
    category popularity and each customer's own history, with an HTML report."""
    from tagwise.errors import TagwiseError
    from tagwise.interests.evaluate import evaluate
    from tagwise.interests.fitting import NothingToLearn
    from tagwise.warehouse import require_built

    require_built(warehouse)
    try:
        quality, files = evaluate(warehouse, as_of, out, horizon, target)
    except NothingToLearn as error:
        raise TagwiseError(
            f"cannot fit as of {as_of - timedelta(days=2 * horizon)}: {error}"
        ) from None
    console.print(
        f"interests as of {quality.as_of} (H = {quality.horizon} days): "
        f"{quality.customers:,} customers, {quality.new_buyers:,} bought a new category; "
        f"AUC {quality.auc:.3f}, Brier {quality.brier:.4f}"
    )
    for ranking in quality.rankings:
        hit = ranking.hit_rate_new_at_3
        console.print(
            f"  {ranking.name:<12} hit rate at 3 on new categories "
            f"{'   n/a' if hit is None else f'{hit:6.3f}'}, precision at 3 {ranking.precision_at_3:.3f}"
        )
    console.print(quality.verdict)
    console.print(f"report: {files[0]}  figures: {files[1]}")
