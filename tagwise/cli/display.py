"""How results are shown: the tables and lines the commands print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from tagwise.cli.options import console

if TYPE_CHECKING:
    from tagwise.activation.changes import Sync
    from tagwise.quality import GateResult


def show_progress(step: str, done: int, total: int) -> None:
    """`n of N` of a long dbt step, on one line rewritten in place: on a terminal only, so
    CI output and logs keep one line per step."""
    if console.is_terminal:
        console.file.write(f"\r  {step}: {done} of {total} built\x1b[K")
        console.file.flush()


def end_progress() -> None:
    """The progress line gives way to what is printed next."""
    if console.is_terminal:
        console.file.write("\r\x1b[K")


def summary_table(totals: dict[str, dict[str, int]]) -> Table:
    """Ingestion per source, from load_totals()."""
    table = Table(
        "source", "files", "skipped", "read", "accepted", "quarantined", "duplicates",
        title="ingestion (read = accepted + quarantined + duplicates)",
    )  # fmt: skip
    for source, row in totals.items():
        table.add_row(source, *(f"{row[k]:,}" for k in (
            "files", "files_skipped", "rows_read", "rows_accepted", "rows_quarantined", "rows_duplicate")))  # fmt: skip
    return table


def show_sync(destination: str, sync: Sync | None) -> None:
    if sync is None:
        console.print(f"export {destination}: nothing new to send")
        return
    if sync.held:
        console.print(
            f"export {destination}: [yellow]held[/yellow] sync {sync.sync_id}: {sync.adds:,} add, "
            f"{sync.updates:,} update, {sync.removes:,} remove is above the destination's thresholds; "
            f"nothing was sent. Its files are in {sync.files[0].parent}: send it with "
            f"`tagwise sync approve {sync.sync_id}` or drop it with `tagwise sync reject {sync.sync_id}`"
        )
        return
    verb = "re-sent unacknowledged" if sync.resent else "wrote"
    if sync.delivery is not None:
        console.print(
            f"export {destination}: {verb} sync {sync.sync_id}: {sync.adds:,} add, {sync.updates:,} update, "
            f"{sync.removes:,} remove -> POSTed: {sync.delivery}"
        )
        return
    console.print(
        f"export {destination}: {verb} sync {sync.sync_id}: {sync.adds:,} add, {sync.updates:,} update, "
        f"{sync.removes:,} remove -> {sync.files[0].parent}; acknowledge with `tagwise ack {sync.sync_id}`"
    )


def show_warehouse(warehouse: Path, target: str) -> None:
    from tagwise.summary import destination_reach, segment_sizes, tag_usage, warehouse_summary

    table = Table("figure", "value", title="warehouse")
    for label, value in warehouse_summary(warehouse, target):
        table.add_row(label, f"{value:,}")
    console.print(table)
    tags = Table("tag", "customers", "note", title="tags")
    for tag, customers, note in tag_usage(warehouse, target):
        tags.add_row(tag, f"{customers:,}", note or "")
    console.print(tags)
    segments = Table("segment", "type", "members", title="segments")
    for segment, kind, members in segment_sizes(warehouse, target):
        segments.add_row(segment, kind, f"{members:,}")
    console.print(segments)
    reach = Table(
        "destination", "selected", "eligible", "not eligible because", title="destinations"
    )
    for destination, selected, eligible, reasons in destination_reach(warehouse, target):
        reach.add_row(destination, f"{selected:,}", f"{eligible:,}", reasons)
    console.print(reach)


def show_gate(gate: GateResult) -> None:
    print_gate(
        sum(o.success for o in gate.outcomes),
        len(gate.warnings),
        len(gate.errors),
        gate.docs,
        [("failed", o.line()) for o in gate.errors]
        + [("warning", o.line()) for o in gate.warnings],
    )


def show_run_gate(gates: dict) -> None:
    failures = [
        (mark, f"{mart}: {line}")
        for mark, field in (("failed", "failures"), ("warning", "warnings"))
        for mart, gate in gates.items()
        if gate.get(field, "none") != "none"
        for line in gate[field].splitlines()
    ]
    print_gate(
        sum(g["passed"] for g in gates.values()),
        sum(g["warned"] for g in gates.values()),
        sum(g["failed"] for g in gates.values()),
        next(iter(gates.values()))["data_docs"],
        failures,
    )


def print_gate(
    passed: int, warned: int, failed: int, docs, failures: list[tuple[str, str]]
) -> None:
    """The gate's counts, then each failed expectation marked failed (error) or warning."""
    console.print(
        f"quality gate: {passed} passed, {warned} warned, {failed} failed; data docs {docs}"
    )
    colours = {"failed": "red", "warning": "yellow"}
    for mark, line in failures:
        # The line is data ([suite/dataset], sampled values): never read as Rich markup.
        console.print(f"  [{colours[mark]}]{mark}[/{colours[mark]}] {escape(line)}")
