"""Broken rows of every kind that SPEC section 2 sends to the quarantine.

Dirty rows are copies of real rows with one defect each, appended after the clean rows of
the same batch, so that a conflict or a duplicate always follows the row it repeats.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.contract import Kind, Source

FUTURE = "2099-01-01T00:00:00Z"


def as_text(rows: pa.Table) -> pa.Table:
    """Every column as strings, so that a broken value can sit beside valid ones."""
    return pa.table(
        {name: pc.cast(rows[name], pa.string()) for name in rows.column_names},
    )


def _defects(source: Source) -> list[str]:
    kinds = {c.kind for c in source.columns}
    found = ["missing_key", "exact_duplicate"]
    if source.key:
        found.append("conflict")
    if Kind.TIMESTAMP in kinds:
        found += ["bad_timestamp", "future_timestamp"]
    if kinds & {Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN}:
        found.append("bad_number")
    if Kind.ENUM in kinds:
        found.append("unknown_enum")
    if any(c.minimum is not None for c in source.columns):
        found.append("negative_quantity")
    return found


def _first(source: Source, kinds: set[Kind]):
    return next(c for c in source.columns if c.kind in kinds)


def _break(source: Source, row: dict, defect: str, rng: np.random.Generator) -> dict:
    row = dict(row)
    if defect == "missing_key":
        row[(source.key or source.column_names)[0]] = ""
    elif defect == "bad_timestamp":
        row[_first(source, {Kind.TIMESTAMP}).name] = ("2025-02-30 25:61:00", "yesterday")[
            rng.integers(2)
        ]
    elif defect == "future_timestamp":
        row[_first(source, {Kind.TIMESTAMP}).name] = FUTURE
    elif defect == "bad_number":
        column = _first(source, {Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN})
        row[column.name] = {"integer": "two", "decimal": "12,50", "boolean": "maybe"}[column.kind]
    elif defect == "unknown_enum":
        row[_first(source, {Kind.ENUM}).name] = "unknown_value"
    elif defect == "negative_quantity":
        column = next(c for c in source.columns if c.minimum is not None)
        row[column.name] = "-2" if column.kind == Kind.INTEGER else "-5.00"
    elif defect == "conflict":
        column = next(
            c
            for c in source.columns
            if c.name not in source.key and c.kind in (Kind.TEXT, Kind.ENUM)
        )
        if column.kind == Kind.ENUM:
            row[column.name] = next(x for x in column.values if x != row[column.name])
        else:
            row[column.name] = f"{row[column.name] or ''} (changed)"
    return row


def inject(source: Source, rows: pa.Table, rate: float, rng: np.random.Generator) -> pa.Table:
    text = as_text(rows)
    count = int(rng.binomial(len(rows), rate)) if len(rows) else 0
    if count == 0:
        return text
    defects = _defects(source)
    picked = text.take(pa.array(rng.integers(0, len(rows), count)))
    broken = [
        _break(source, row, defects[rng.integers(len(defects))], rng) for row in picked.to_pylist()
    ]
    return pa.concat_tables([text, pa.Table.from_pylist(broken, schema=text.schema)])
