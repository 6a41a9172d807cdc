"""`tagwise suggest`: new tags, merges and retirements proposed from the latest build."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from rich.table import Table

from tagwise.cli.options import console, parse_day, warehouse_option


@click.command("suggest")
@warehouse_option
@click.option(
    "--as-of",
    "as_of",
    callback=parse_day,
    default=None,
    help="The build's as-of date, as a check [default: the latest build's].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the suggestions as JSON.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write suggestions-D.json, a review file of catalog snippets "
    "(suggestions-D.yml) and a page with charts (suggestions-D.html) into this folder.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the page with charts to this file.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the bootstrap resamples.")
def suggest_command(
    warehouse: Path,
    as_of: date | None,
    as_json: bool,
    out: Path | None,
    html_file: Path | None,
    seed: int,
) -> None:
    """Propose tags from behaviour, merges of tags that hold the same people, and
    retirements of tags that match no one, nearly everyone, or no longer differ from
    everyone. Reads the latest build, writes nothing to it, applies nothing: accepting a
    suggestion is an ordinary catalog edit (`tagwise check`, `tagwise diff`)."""
    from tagwise.suggest import html_page, read_inputs, suggest, write_review

    inputs = read_inputs(warehouse, as_of)
    if out is not None:
        suggestions, _ = write_review(inputs, out, seed=seed)
    else:
        suggestions = suggest(inputs, seed=seed)
    if html_file is not None:
        html_file.parent.mkdir(parents=True, exist_ok=True)
        html_file.write_text(
            html_page(suggestions, inputs.as_of, len(inputs.customers)), encoding="utf-8"
        )
    records = [s.as_dict() for s in suggestions]
    if as_json:
        click.echo(json.dumps(records, indent=2, default=str))
        return
    table = Table(
        "kind", "tag", "condition", "members", "support", "lift", "stability", "why",
        title=f"suggestions from the build as of {inputs.as_of} "
        f"({len(inputs.customers)} customers who allow profiling)",
        title_justify="left",
    )  # fmt: skip
    for s in suggestions:
        table.add_row(
            s.kind, s.tag, s.condition or "", str(s.members), f"{s.support:.1%}",
            "" if s.lift is None else f"{s.lift:.1f}x (>= {s.lift_lower:.1f}x)",
            "" if s.stability is None else f"{s.stability:.0%}", s.reason,
        )  # fmt: skip
    console.print(table)
    if not suggestions:
        console.print("nothing to suggest")
    if out is not None:
        console.print(
            f"review file: {out / f'suggestions-{inputs.as_of}.yml'}, "
            f"page: {out / f'suggestions-{inputs.as_of}.html'}"
        )
