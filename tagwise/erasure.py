"""What erasure removes inside the warehouse (SPEC 3.6; the README lists it).

The models already leave erased people out of every customer-level output. This pass,
run after each build (the `exports/erasure` asset, on DuckDB), removes what tagwise
still holds about them besides: their rows in every raw table but the privacy requests
(the record of what was asked, kept as the reason to go on erasing), the rows ingestion
quarantined about them, the failure samples the gate stored, and the Data Docs pages
that show them. Their identifiers are kept as SHA-256 hashes only
(`erasure.erased_identifiers`), so that their requests keep resolving once the rows are
gone. Last, it removes their rows from the identity tables of the build (which the next
build, from the purged raw rows, would not hold either). The landing files are the
sender's, and stay.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from tagwise.ingest.loaders import DuckDBLoader, SparkLoader
from tagwise.relations import ref, source
from tagwise.spark import SparkSettings, session
from tagwise.warehouse import connect


# Raw tables and how a row names a person: by customer_id, and by email where it may.
@functools.cache
def raw_person_rows():
    return (
        (source("crm", "customers"), True),
        (source("identifiers", "customer_identifiers"), False),
        (source("shop", "orders"), False),
        (source("esp", "email_events"), True),
        (source("web", "web_events"), False),
        (source("privacy", "consent_events"), True),
        (source("crm", "manual_tags"), False),
        (source("crm", "support_tickets"), False),
        (source("crm", "survey_responses"), False),
    )


# What names an erased person's rows in the identity tables a build makes, which hold
# identifiers in clear (the erasure pass runs after every one of them is built).
_BY_KEY = "customer_key in (select customer_key from _erased)"
_BY_ID = "customer_id in (select identifier from _ids)"
_BY_PAIR = f"{_BY_ID} or linked_customer_id in (select identifier from _ids)"
# A guarded value is shared by several records: gone when it holds an erased identifier.
_BY_VALUE = "exists (select 1 from _erased where instr(guarded_value, _erased.identifier) > 0)"


def identity_tables_purged() -> dict[str, str]:
    """Each identity table a build makes holding identifiers in clear -> its rows of
    erased people (the erasure pass runs after every one of them is built)."""
    return {
        ref("int_identity__identifiers"): _BY_KEY,
        ref("int_identity__clusters"): _BY_KEY,
        ref("int_identity__customer_records"): _BY_ID,
        ref("int_identity__identifier_values"): _BY_ID,
        ref("int_identity__rule_keys"): _BY_ID,
        ref("int_identity__match_candidates"): _BY_ID,
        ref("int_identity__probabilistic_matches"): _BY_PAIR,
        ref("identity_links"): _BY_PAIR,
        ref("identity_guarded_values"): _BY_VALUE,
        source("model", "identity_matches"): _BY_PAIR,
    }


REDACTED = "[redacted: erasure]"


# The hashes of erased people's addresses and phones, as their keys are at a destination
# in clear or hashed (Meta hashes a phone's digits only): what the gate looks for in the
# export files (tagwise.quality.erased_in_export_files).
@functools.cache
def erased_key_hashes_sql():
    return f"""
    select distinct identifier_sha256 from {source("erasure", "erased_identifiers")}
    where identifier_type in ('email', 'phone', 'phone_digits')"""


def identifier_hashes(identifier_type: str, identifier: str) -> set[str]:
    """The hashes erased_identifiers records for an identifier (_purge_rows writes them in
    SQL): its own, and for an E.164 phone that of its digits."""
    hashes = {hashlib.sha256(identifier.encode()).hexdigest()}
    if identifier_type == "phone":
        hashes.add(hashlib.sha256(identifier[1:].encode()).hexdigest())
    return hashes


class _DuckDBRows(DuckDBLoader):
    """Purges a DuckDB warehouse (in the caller's transaction), through ingestion's loader."""

    def sha256(self, expression: str) -> str:
        return f"sha256({expression})"

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract_string({column}, '$.{key}')"

    def values(self, sql: str) -> list:
        return [value for (value,) in self.con.execute(sql).fetchall()]

    def delete(self, table: str, condition: str) -> int:
        return self.one(f"delete from {table} where {condition}")[0]


class _SparkRows(SparkLoader):
    """Purges Spark's Parquet tables, which have no DELETE: a table with rows to purge is
    rewritten with the rest. There is no transaction either; the erased identifiers are
    recorded last, so a pass cut short is done again whole by the next one. `keep`
    checkpoints, so the temp views stay as read while the tables change."""

    def sha256(self, expression: str) -> str:
        return f"sha2({expression}, 256)"

    def json_text(self, column: str, key: str) -> str:
        return f"get_json_object({column}, '$.{key}')"

    def values(self, sql: str) -> list:
        return [row[0] for row in self.spark.sql(sql).collect()]

    def delete(self, table: str, condition: str) -> int:
        purged = self.one(f"select count(*) from {table} where {condition}")[0]
        if purged:
            rest = self.spark.sql(f"select * from {table} where not coalesce({condition}, false)")
            rest.localCheckpoint().write.insertInto(table, overwrite=True)
        return purged


def purge_erased(warehouse: Path, target: str = "duckdb") -> int:
    """Remove what the warehouse still holds about people erased as of the build; returns
    the rows removed or redacted. People erased before only have rows loaded since.

    Raw and quarantined rows are purged where the build ran (DuckDB, or Spark's tables);
    the gate's samples and Data Docs pages are in the local state folder either way."""
    if target == "spark":
        rows = _SparkRows(session(SparkSettings.for_warehouse(warehouse)))
        removed, fresh = _purge_rows(rows, datetime.now(UTC))
        with connect(warehouse) as con:
            removed += _redact_samples(con, fresh)
    else:
        with connect(warehouse) as con:
            con.execute("begin transaction")
            removed, fresh = _purge_rows(_DuckDBRows(con), datetime.now(UTC))
            removed += _redact_samples(con, fresh)
            con.execute("commit")
    return removed + _remove_pages(warehouse.parent / "quality", fresh)


def _purge_rows(rows: _DuckDBRows | _SparkRows, now: datetime) -> tuple[int, list[str]]:
    """Purge raw and quarantined rows and record the erased identifiers as hashes; returns
    the rows removed and the identifiers (and keys) of the newly erased."""
    rows.keep(
        "_erased",
        f"""
        select i.customer_key, i.identifier_type, i.identifier,
            {rows.sha256("i.identifier")} as identifier_sha256,
            h.identifier_sha256 is null as is_new
        from {ref("int_identity__identifiers")} as i
        inner join {ref("int_identity__erased_people")} as e
            on i.customer_key = e.customer_key
        left join {source("erasure", "erased_identifiers")} as h
            on h.identifier_sha256 = {rows.sha256("i.identifier")}
            and h.identifier_type = i.identifier_type
        """,
    )
    since = rows.one(f"select max(erased_at) from {source('erasure', 'erased_identifiers')}")[0]
    for name, kind in (("_ids", "customer_id"), ("_emails", "email")):
        rows.keep(
            name,
            f"select identifier, bool_or(is_new) as is_new from _erased "
            f"where identifier_type = '{kind}' group by identifier",
        )
    # Lines of the orders about to go, while the orders still say whose they are.
    removed = rows.delete(
        source("shop", "order_lines"),
        f"order_id in (select order_id from {source('shop', 'orders')} where {_person(False, only_new=False)})",
    )
    for table, by_email in raw_person_rows():
        removed += rows.delete(table, _condition(by_email, since))
    # A phone's check lasts as long as a customer record holds its text.
    removed += rows.delete(
        source("phones", "phone_numbers"),
        f"phone not in (select phone from {source('crm', 'customers')} where phone is not null)",
    )
    customer_id = rows.json_text("original", "customer_id")
    email = rows.json_text("original", "email")
    removed += rows.delete(
        source("ingestion", "quarantine"),
        f"{customer_id} in (select identifier from _ids) "
        f"or lower(trim({email})) in (select identifier from _emails)",
    )
    # Samples and pages are searched for the newly erased only: earlier ones were searched
    # when they were erased, and no later check shows an erased person.
    fresh = rows.values(
        "select identifier from _erased where is_new "
        "union select customer_key from _erased where is_new"
    )
    at = f"timestamp '{now.replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}'"
    rows.execute(
        f"""insert into {source("erasure", "erased_identifiers")}
        select customer_key, identifier_type, identifier_sha256, {at}
        from _erased where is_new
        union all
        select customer_key, 'phone_digits', {rows.sha256("substr(identifier, 2)")}, {at}
        from _erased where is_new and identifier_type = 'phone'"""
    )
    # Last, the identity tables this build made: they held the person's identifiers in
    # clear, as the next build (from the purged raw rows) would not. What runs after this
    # pass finds erased people by hash (erased_key_hashes_sql, int_identity__privacy_requests).
    for table, rows_of_erased in identity_tables_purged().items():
        removed += rows.delete(table, rows_of_erased)
    return removed, fresh


def _redact_samples(con, fresh: list[str]) -> int:
    """Failure samples the gate stored that show a newly erased identifier."""
    gated = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'quality' and table_name = 'validation_results'"
    ).fetchone()[0]
    if not fresh or not gated:
        return 0
    return con.execute(
        f"""update {source("quality", "validation_results")} set sample = '{REDACTED}'
        where exists (select 1 from (select unnest($fresh) as t) where contains(sample, t))""",
        {"fresh": fresh},
    ).fetchone()[0]


def _person(by_email: bool, only_new: bool) -> str:
    """The condition naming an erased person's rows (the newly erased only, if asked)."""
    new = " where is_new" if only_new else ""
    who = f"customer_id in (select identifier from _ids{new})"
    if by_email:
        who += f" or lower(trim(email)) in (select identifier from _emails{new})"
    return f"({who})"


def _condition(by_email: bool, since: datetime | None) -> str:
    """Rows of erased people: every row of the newly erased, and rows loaded since the
    last pass of those erased before (a person's data may arrive after the erasure)."""
    if since is None:
        return _person(by_email, only_new=False)
    earlier = (
        f"_loaded_at > timestamp '{since:%Y-%m-%d %H:%M:%S.%f}' and {_person(by_email, False)}"
    )
    return f"{_person(by_email, only_new=True)} or ({earlier})"


def _remove_pages(quality: Path, identifiers: list[str]) -> int:
    """Data Docs pages and stored validation results that show an erased identifier."""
    if not identifiers or not quality.is_dir():
        return 0
    removed = 0
    for path in quality.rglob("*"):
        if path.suffix in {".html", ".json"} and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(identifier in text for identifier in identifiers):
                path.unlink()
                removed += 1
    return removed
