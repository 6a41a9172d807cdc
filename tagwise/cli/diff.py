"""`tagwise diff`: what a catalog change does, before it ships."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import click
from rich.table import Table

from tagwise.cli.display import end_progress, show_progress
from tagwise.cli.options import console, from_settings, parse_day, setting_shown, warehouse_option

_FILE = click.Path(path_type=Path, dir_okay=False)


def _share(_ctx, param, value: float) -> float:
    """A share: a finite number of 0 or more (nan would compare false with everything and
    let any change through)."""
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value} is not a share (a finite number, 0 or more)")
    if param.name == "max_new_share" and value > 1:
        raise click.BadParameter(f"{value} is not a share of customers (0 to 1)")
    return value


@click.command("diff")
@warehouse_option
@click.option(
    "--base",
    default=None,
    help="Compare with the catalogs at this git ref (e.g. main) [default: the warehouse as built].",
)
@click.option(
    "--as-of", "as_of", callback=parse_day, default=None, help="Must be the latest build's date."
)
@click.option(
    "--max-change",
    type=float,
    callback=_share,
    default=from_settings("diff_max_change"),
    show_default=setting_shown("diff_max_change"),
    help="Exit with code 3 when a tag, segment, audience or destination turns over (entering + "
    "leaving, over members before) by more than this share.",
)
@click.option(
    "--max-new-share",
    type=float,
    callback=_share,
    default=from_settings("diff_max_new_share"),
    show_default=setting_shown("diff_max_new_share"),
    help="Exit with code 3 when a new tag, segment, audience or destination (no members "
    "before: no turnover to judge) holds more than this share of all customers.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="People listed entering and leaving, per name (a large number lists everyone).",
)
@click.option(
    "--markdown",
    "markdown_out",
    type=_FILE,
    default=None,
    help="Write Markdown (a pull-request comment) here.",
)
@click.option("--json", "json_out", type=_FILE, default=None, help="Write JSON here.")
@click.option(
    "--html", "html_out", type=_FILE, default=None, help="Write an HTML page with charts here."
)
def diff_command(
    warehouse: Path,
    base: str | None,
    as_of: date | None,
    max_change: float,
    max_new_share: float,
    sample: int,
    markdown_out: Path | None,
    json_out: Path | None,
    html_out: Path | None,
) -> None:
    """Build the working catalogs as of the latest build into a scratch copy of the warehouse
    and compare with the base: members before and after, who enters and leaves and why,
    audience overlap, and what each destination's next sync would carry. Nothing published,
    sent or recorded changes."""
    from tagwise.diff import ThresholdCrossed, diff
    from tagwise.diff_report import as_json, html_page, markdown

    result = diff(
        warehouse,
        base=base,
        as_of=as_of,
        sample=sample,
        max_change=max_change,
        max_new_share=max_new_share,
        on_progress=show_progress,
    )
    end_progress()
    show_diff(result)
    for path, render in ((markdown_out, markdown), (json_out, as_json), (html_out, html_page)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(result), encoding="utf-8")
            console.print(f"wrote {path}")
    if result.crossed:
        raise ThresholdCrossed(
            f"over the thresholds ({max_change:.0%} turnover, new definitions {max_new_share:.0%} "
            "of customers): " + ", ".join(result.crossed)
        )


def show_diff(result) -> None:
    from tagwise.diff_report import _change, _changed, _turnover

    console.print(f"tagwise diff as of {result.as_of}; base: {result.base}", highlight=False)
    show_identity(result.identity)
    for title, items in (("segments and audiences", result.segments), ("tags", result.tags)):
        changed = _changed(items)
        if not changed:
            console.print(f"{title}: no member enters or leaves")
            continue
        table = Table(
            "name", "before", "after", "change", "entering", "leaving", "turnover", title=title
        )
        for i in changed:
            table.add_row(
                i["name"], f"{i['before']:,}", f"{i['after']:,}", _change(i),
                f"{i['entering']:,}", f"{i['leaving']:,}", _turnover(i),
            )  # fmt: skip
        console.print(table)
        # --sample N: who enters and leaves, and why, as the Markdown and HTML show.
        for i in changed:
            for label in ("entering", "leaving"):
                for person in i.get(f"{label}_sample") or []:
                    console.print(
                        f"  {i['name']} {label}: {person['customer_key'][:10]} "
                        f"{person['reason'] or ''}".rstrip(),
                        markup=False,
                        highlight=False,
                    )
    table = Table(
        "destination",
        "before",
        "after",
        "entering",
        "leaving",
        "next sync after (add/update/remove)",
        title="destinations",
    )
    for d in result.destinations:
        a = d["next_sync_after"]
        table.add_row(
            d["name"], f"{d['before']:,}", f"{d['after']:,}", f"{d['entering']:,}", f"{d['leaving']:,}",
            f"{a['add']:,} / {a['update']:,} / {a['remove']:,}",
        )  # fmt: skip
    console.print(table)
    if result.lookalikes:
        console.print(lookalike_table(result.lookalikes))


def lookalike_table(lookalikes: list[dict]) -> Table:
    """Each lookalike audience's size and how much of its seed's held-out share it finds,
    against a random draw of its size (SPEC 3.10)."""
    table = Table(
        "lookalike", "seed", "members", "held out", "recall", "random", "lift", "lift before",
        title="lookalike audiences: the seed's held-out share found within the audience's size",
    )  # fmt: skip
    for q in lookalikes:
        table.add_row(
            q["lookalike"], q["seed"], f"{q['audience_size']:,}", f"{q['held_out_size']:,}",
            *(_figure(q[name]) for name in ("recall", "random_recall", "lift", "lift_before")),
        )  # fmt: skip
    return table


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def show_identity(identity: dict) -> None:
    """Who the identity catalog change merges and splits, and what it does to consent."""
    from tagwise.diff_report import identity_summary

    if not identity:
        return
    console.print(identity_summary(identity), markup=False, highlight=False)
    if not identity.get("rebuilt"):
        return
    for label, key in (("merged", "merge_sample"), ("split", "split_sample")):
        for person in identity[key]:
            console.print(
                f"  {label}: {person['customer_key'][:10]} {person['reason']}",
                markup=False,
                highlight=False,
            )
    table = Table(
        "consent", "granted before", "granted after", "records no longer granted",
        "records newly granted", title="identity and consent",
    )  # fmt: skip
    for c in identity["consent"]:
        table.add_row(
            f"{c['channel']} {c['purpose']}", f"{c['granted_before']:,}", f"{c['granted_after']:,}",
            f"{c['records_no_longer_granted']:,}", f"{c['records_newly_granted']:,}",
        )  # fmt: skip
    console.print(table)
