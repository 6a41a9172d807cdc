"""`tagwise explain`: why one person has their tags, segments and destinations."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from rich.table import Table

from tagwise.cli.options import console, parse_day, warehouse_option


@click.command("explain")
@click.argument("identifier")
@warehouse_option
@click.option(
    "--as-of",
    "as_of",
    callback=parse_day,
    default=None,
    help="Explain as of this date, at most the latest build's [default: the latest build's].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option(
    "--verbose",
    is_flag=True,
    help="Also name, for the primary segment, the earlier segments whose condition did not hold.",
)
def explain_command(
    identifier: str, warehouse: Path, as_of: date | None, as_json: bool, verbose: bool
) -> None:
    """Explain one person (any customer id or email ever held, or the customer_key the
    published tables show): tags with evidence,
    segments with reasons, each destination with eligible or why not, consent, and the
    latest segment entries and exits, and the source records merged into them with why."""
    from tagwise.explain import explain
    from tagwise.privacy import json_value

    answer = explain(warehouse, identifier, as_of, verbose=verbose)
    if as_json:
        click.echo(json.dumps(answer, indent=2, default=json_value))
        return
    show_explanation(answer)


def _table(title: str, rows: list[dict], columns: list[str]) -> Table:
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    return table


def show_explanation(answer: dict) -> None:
    console.print(
        f"{answer['identifier']}: {answer['status']}"
        + (f" (customer {answer['customer_key']})" if answer.get("customer_key") else "")
        + f", as of {answer['as_of_date']} (latest build {answer['build_as_of']})",
        highlight=False,
    )
    if answer["status"] != "active":
        return
    if answer.get("note"):
        console.print(answer["note"], highlight=False)
    columns = ["tag", "category", "source", "evidence", "tagged_since"]
    console.print(
        _table("tags", answer["tags"], [c for c in columns if c in (answer["tags"] or [{}])[0]])
    )
    segments = answer["segments"]
    columns = ["segment", "segment_type", "is_holdout", "reason", "member_since"]
    console.print(_table("segments", segments, [c for c in columns if c in (segments or [{}])[0]]))
    for segment in segments:
        for earlier in segment.get("earlier_segments_not_holding", []):
            console.print(
                f"  not {earlier['segment']}: {earlier['when']} did not hold", highlight=False
            )
    if answer.get("predicted_interests"):
        console.print(
            _table(
                "predicted interests (next 90 days)",
                answer["predicted_interests"],
                ["rank", "category", "probability", "is_new_to_customer", "top_drivers"],
            )
        )
    if answer.get("lookalike_quality"):
        console.print(
            _table(
                "lookalike audiences: the seed's held-out share found within the audience's size",
                answer["lookalike_quality"],
                [
                    "lookalike",
                    "seed",
                    "audience_size",
                    "held_out_size",
                    "recall",
                    "random_recall",
                    "lift",
                ],
            )
        )
    identity = answer.get("identity")
    if identity:
        console.print(
            f"source records: {', '.join(identity['records'])}"
            + ("" if identity["links"] else " (no link: a person of one record)"),
            highlight=False,
        )
        if identity["links"]:
            console.print(
                _table(
                    "why these records are one person",
                    identity["links"],
                    [
                        "customer_id",
                        "linked_customer_id",
                        "rule",
                        "matched_values",
                        "match_probability",
                    ],
                )
            )
    if "destinations" in answer:
        console.print(_table("destinations", answer["destinations"], ["destination", "status"]))
        console.print(
            _table(
                "consent",
                answer["consent"],
                ["channel", "purpose", "status", "since", "via", "set_by_event_id"],
            )
        )
    console.print(
        _table(
            "latest segment entries and exits",
            answer["last_changes"],
            ["on_date", "change", "segment", "reason"],
        )
    )
