"""`tagwise tag-list`: a file of customer ids as manual tags (tagwise.tag_lists)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from tagwise.cli.options import console, landing_option
from tagwise.contract import TEAMS


def _utc(ctx: click.Context, param: click.Parameter, value: datetime | None) -> datetime:
    """The time given, read as UTC, or now."""
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    return value.replace(tzinfo=UTC)


@click.command("tag-list")
@click.argument("ids_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--tag", required=True, help="An active tag (or synonym) of the taxonomy.")
@click.option("--actor", required=True, help="Who adds the tags, as the tag history shows.")
@click.option("--team", type=click.Choice(TEAMS), required=True)
@click.option(
    "--at",
    "created_at",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    callback=_utc,
    default=None,
    help="When the tags were added, UTC [default: now]; a run as of D reads actions up to D.",
)
@landing_option
def tag_list_command(
    ids_file: Path, tag: str, actor: str, team: str, created_at: datetime, landing: Path
) -> None:
    """Tag every customer listed in IDS_FILE (a CSV with a customer_id column): writes one
    manual `add` per customer into the landing folder's manual_tags, for the next run. A
    lookalike audience then names the list as `seed: {tag: TAG}`."""
    from tagwise.tag_lists import write_tag_list

    listed = write_tag_list(ids_file, tag, actor, team, landing, created_at)
    folded = f" ({listed.duplicates:,} repeated ids folded)" if listed.duplicates else ""
    console.print(f"{listed.customers:,} customers tagged {listed.tag}{folded}: {listed.written}")
