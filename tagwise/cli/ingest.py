"""`tagwise ingest` and `tagwise check`: loading landing files, validating the catalogs."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import click

from tagwise.cli.display import summary_table
from tagwise.cli.options import (
    check_catalogs,
    console,
    holds_warehouse,
    landing_option,
    target_option,
    verify_option,
    warehouse_option,
)


@click.command("ingest")
@landing_option
@warehouse_option
@target_option
@verify_option
@holds_warehouse
def ingest_command(landing: Path, warehouse: Path, target: str, verify_content: bool) -> None:
    """Load new landing files into the raw layer; bad rows go to raw.quarantine."""
    from tagwise.ingest import FileLoad, ingest, load_totals

    began = time.perf_counter()

    def show(load: FileLoad) -> None:
        if load.skipped:
            console.print(f"[dim]{load.file}: skipped: {load.skip_reason}[/dim]")
        else:
            console.print(
                f"{load.file}: {load.rows_read:,} read, {load.rows_accepted:,} accepted, "
                f"{load.rows_quarantined:,} quarantined, {load.rows_duplicate:,} duplicates"
            )

    loads = ingest(landing, warehouse, progress=show, target=target, verify_content=verify_content)
    by_source = defaultdict(list)
    for load in loads:
        by_source[load.source].append(load)
    console.print(summary_table({name: load_totals(group) for name, group in by_source.items()}))
    console.print(f"loaded into {warehouse} in {time.perf_counter() - began:.1f} s")


@click.command("check")
def check_command() -> None:
    """Validate the tag, segment and destination catalogs (and the taxonomy and synonyms
    they name) against the rule inputs, the segment definitions and the destination kinds;
    each problem names its file and entry."""
    check_catalogs()
