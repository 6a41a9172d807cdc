"""`tagwise generate`: a synthetic sample in the landing layout."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from tagwise.cli.options import console, from_settings, parse_day, setting_shown
from tagwise.contract import DEFAULT_END, DEFAULT_START, FORMATS


@click.command("generate")
@click.option("--customers", type=click.IntRange(min=1), required=True, help="Population size.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=from_settings("landing"),
    show_default=setting_shown("landing"),
)
@click.option(
    "--start",
    callback=parse_day,
    default=DEFAULT_START.isoformat(),
    show_default=True,
    help="First day of activity.",
)
@click.option(
    "--end",
    callback=parse_day,
    default=DEFAULT_END.isoformat(),
    show_default=True,
    help="Last day of activity.",
)
@click.option(
    "--since",
    callback=parse_day,
    default=None,
    help="Write only rows dated on or after this day (an increment).",
)
@click.option(
    "--dirty-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Share of rows to break, for quarantine testing.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option(
    "--plant-lift",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Send a campaign to the southern-hemisphere audience on 2026-05-13 and give each "
    "member who is not held out an extra order within 30 days with this probability.",
)
@click.option(
    "--plant-sequence",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Each year, this share of customers buy sports-fitness in spring and most of them "
    "outdoor-camping in summer: a sequence the interests model should find.",
)
@click.option(
    "--plant-habits",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="This share of customers order only through the app between 22:00 and 02:00 UTC, "
    "and another buy home-kitchen then food-coffee within days, every quarter: habits no "
    "shipped tag names, for tagwise suggest to find.",
)
@click.option(
    "--plant-identity",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="This share of customers sign up a second time (a typo, a new email, or no email "
    "and the same phone), and half of it carry junk identifiers shared by many "
    "(test@test.com, a shop's phone): for identity resolution and its guards.",
)
@click.option(
    "--plant-launch",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="A launch product (P217, a new home-garden light) goes on sale on 2026-03-15: in its first "
    "45 days this share of the eco-conscious customers buy it, and a twentieth of it of everyone "
    "else; the shipped like-launch-buyers lookalike grows from them.",
)
def generate_command(
    customers,
    seed,
    out,
    start,
    end,
    since,
    dirty_rate,
    fmt,
    plant_lift,
    plant_sequence,
    plant_habits,
    plant_identity,
    plant_launch,
) -> None:
    """Write a deterministic synthetic data set in the landing layout."""
    from tagwise.generator import GenerateConfig, generate

    try:
        config = GenerateConfig(
            customers,
            seed,
            out,
            start,
            end,
            dirty_rate,
            fmt,
            since,
            plant_lift,
            plant_sequence,
            plant_habits,
            plant_identity,
            plant_launch,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    began = time.perf_counter()
    with console.status("generating") as status:
        rows = generate(config, progress=lambda text: status.update(f"generating: {text}"))
    table = Table("source", "rows", title=f"generated into {out}")
    for source, count in rows.items():
        table.add_row(source, f"{count:,}")
    console.print(table)
    console.print(f"{sum(rows.values()):,} rows in {time.perf_counter() - began:.1f} s")
