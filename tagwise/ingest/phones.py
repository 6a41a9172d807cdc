"""Phone numbers in E.164, checked by the `phonenumbers` library (Google's libphonenumber
metadata), once per distinct text ingestion has loaded.

A phone counts only when it is written internationally (a leading `+` or `00`) and the
library finds it a valid number of its country: no country is guessed for a national
number, since sending a message to a misread number reaches someone else. Writings of
one handset (`+44 (0)20 7946 0028`, `0044 20 7946 0028`, `+442079460028`) reach the same
E.164, so a number two customers share is seen as shared.

The result is kept in the raw schema's `phone_numbers` (the `phones` dbt source), one row per
text as landed; dbt's staging joins it, so the rule lives here only. A text is checked
once: a later version of the library does not re-judge it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import phonenumbers

from tagwise.ingest.loaders import DuckDBLoader, Loader
from tagwise.relations import source

# Why a phone has no E.164, as the table records it.
NOT_INTERNATIONAL = "not written with its country code (+ or 00)"
NOT_A_NUMBER = "not a phone number"
NOT_VALID = "not a valid number of its country"


def e164(phone: str) -> tuple[str | None, str | None]:
    """(E.164, None) of a phone as typed, or (None, why not)."""
    text = phone.strip()
    compact = "".join(c for c in text if c not in " ()./-")
    if compact.startswith("00"):
        text = "+" + compact[2:]
    if not text.startswith("+"):
        return None, NOT_INTERNATIONAL
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None, NOT_A_NUMBER
    if not phonenumbers.is_valid_number(number):
        return None, NOT_VALID
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def unchecked_sql() -> str:
    """Texts of customers' phones not checked yet."""
    return f"""
    select distinct phone from {source("crm", "customers")}
    where phone is not null and phone not in (select phone from {source("phones", "phone_numbers")})"""


def check_new_phones(loader: Loader) -> int:
    """Check every phone text the raw customers hold that the checks do not; returns
    how many were checked."""
    now = datetime.now(UTC).replace(tzinfo=None)
    duckdb_loader = isinstance(loader, DuckDBLoader)
    unchecked = (
        loader.con.execute(unchecked_sql()).fetchall()
        if duckdb_loader
        else loader.spark.sql(unchecked_sql()).collect()
    )
    rows = [(phone, *e164(phone), now) for (phone,) in unchecked]
    if not rows:
        return 0
    table = source("phones", "phone_numbers")
    if duckdb_loader:
        import pyarrow as pa  # here: a refused `tagwise run` loads no numpy (test_cli)

        # One insert of the whole batch: DuckDB's executemany runs a statement per row, 0.65
        # ms each here, which at a million customers cost 11 minutes (the check, 46 us).
        checked = pa.table(
            {
                "phone": [row[0] for row in rows],
                "e164": [row[1] for row in rows],
                "problem": [row[2] for row in rows],
                "checked_at": pa.array([now] * len(rows), pa.timestamp("us")),
            }
        )
        loader.con.register("checked_phones", checked)
        try:
            loader.con.execute(
                f"insert into {table} (phone, e164, problem, checked_at) "
                "select phone, e164, problem, checked_at from checked_phones"
            )
        finally:
            loader.con.unregister("checked_phones")
    else:
        schema = loader.spark.table(table).schema
        loader.spark.createDataFrame(rows, schema=schema).write.insertInto(table)
    return len(rows)
