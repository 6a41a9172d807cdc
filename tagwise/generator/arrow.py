"""Vectorised helpers that turn numpy arrays into Arrow columns of the raw contract."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.contract import Kind, Source

UTC_TIMESTAMP = pa.timestamp("s", tz="UTC")
MONEY = pa.decimal128(18, 2)

ARROW_TYPES = {
    Kind.TEXT: pa.string(),
    Kind.ENUM: pa.string(),
    Kind.COUNTRY: pa.string(),
    Kind.TIMESTAMP: UTC_TIMESTAMP,
    Kind.DATE: pa.date32(),
    Kind.INTEGER: pa.int64(),
    Kind.DECIMAL: MONEY,
    Kind.BOOLEAN: pa.bool_(),
}


def schema_for(source: Source) -> pa.Schema:
    return pa.schema([(c.name, ARROW_TYPES[c.kind]) for c in source.columns])


def ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    """Prefix + decimal number, built in Arrow rather than a Python loop."""
    digits = pc.cast(pa.array(numbers, pa.int64()), pa.string())
    return pc.binary_join_element_wise(prefix, digits, "")


def timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]")).cast(UTC_TIMESTAMP)


def money(cents: np.ndarray) -> pa.Array:
    """Exact decimal(18, 2) from integer cents: decimal128 stores the unscaled integer."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty(len(cents) * 2, dtype=np.int64)
    words[0::2] = cents
    words[1::2] = cents >> 63  # sign extension into the high word
    return pa.Array.from_buffers(MONEY, len(cents), [None, pa.py_buffer(words)])


def texts(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """Strings with null where `present` is False (an empty optional cell)."""
    mask = None if present is None else ~present
    return pa.array(values, pa.string(), mask=mask)


def pick(rng: np.random.Generator, choices: np.ndarray, n: int, p=None) -> np.ndarray:
    return choices[rng.choice(len(choices), size=n, p=p)]


def table(source: Source, columns: dict[str, pa.Array]) -> pa.Table:
    return pa.table(columns, schema=schema_for(source))
