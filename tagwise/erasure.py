"""What erasure removes inside the warehouse (SPEC 3.6; the README lists it).

The models already leave erased people out of every customer-level output. This pass,
run after each build (the `exports/erasure` asset, on DuckDB), removes what tagwise
still holds about them besides: their rows in every raw table but the privacy requests
(the record of what was asked, kept as the reason to go on erasing), the rows ingestion
quarantined about them, the failure samples the gate stored, and the Data Docs pages
that show them. Their identifiers are kept as SHA-256 hashes only
(`erasure.erased_identifiers`), so that their requests keep resolving once the rows are
gone. The landing files are the sender's, and stay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tagwise.warehouse import connect

# Raw tables and how a row names a person: by customer_id, and by email where it may.
RAW_PERSON_ROWS = (
    ("raw.customers", True),
    ("raw.orders", False),
    ("raw.email_events", True),
    ("raw.web_events", False),
    ("raw.consent_events", True),
    ("raw.manual_tags", False),
    ("raw.support_tickets", False),
    ("raw.survey_responses", False),
)
REDACTED = "[redacted: erasure]"


def purge_erased(warehouse: Path) -> int:
    """Remove what the warehouse still holds about people erased as of the build; returns
    the rows removed or redacted. People erased before only have rows loaded since."""
    quality = warehouse.parent / "quality"
    removed = 0
    with connect(warehouse) as con:
        con.execute(
            """
            create or replace temp table _erased as
            select i.customer_key, i.identifier_type, i.identifier,
                sha256(i.identifier) as identifier_sha256,
                h.identifier_sha256 is null as is_new
            from restricted.int_identity__identifiers as i
            inner join restricted.int_identity__erased_people using (customer_key)
            left join erasure.erased_identifiers as h
                on h.identifier_sha256 = sha256(i.identifier)
                and h.identifier_type = i.identifier_type
            """
        )
        (since,) = con.execute("select max(erased_at) from erasure.erased_identifiers").fetchone()
        con.execute(
            """create or replace temp table _ids as
            select identifier, bool_or(is_new) as is_new from _erased
            where identifier_type = 'customer_id' group by all"""
        )
        con.execute(
            """create or replace temp table _emails as
            select identifier, bool_or(is_new) as is_new from _erased
            where identifier_type = 'email' group by all"""
        )
        con.execute("begin transaction")
        # Lines of the orders about to go, while the orders still say whose they are.
        removed += _count(
            con,
            "delete from raw.order_lines where order_id in (select order_id from raw.orders "
            f"where {_person(False, only_new=False)})",
        )
        for table, by_email in RAW_PERSON_ROWS:
            removed += _delete(con, table, by_email, since)
        removed += _count(
            con,
            """delete from raw.quarantine
            where json_extract_string(original, '$.customer_id') in (select identifier from _ids)
                or lower(trim(json_extract_string(original, '$.email')))
                    in (select identifier from _emails)""",
        )
        # Samples and pages are searched for the newly erased only: earlier ones were
        # searched when they were erased, and no later check shows an erased person.
        fresh = [
            value
            for (value,) in con.execute(
                "select identifier from _erased where is_new "
                "union select customer_key from _erased where is_new"
            ).fetchall()
        ]
        gated = con.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'quality' and table_name = 'validation_results'"
        ).fetchone()[0]
        if fresh and gated:
            removed += _count(
                con,
                f"""update quality.validation_results set sample = '{REDACTED}'
                where exists (select 1 from (select unnest($fresh) as t) where contains(sample, t))""",
                {"fresh": fresh},
            )
        con.execute(
            """insert into erasure.erased_identifiers
            select customer_key, identifier_type, identifier_sha256, $now from _erased
            where is_new""",
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        )
        con.execute("commit")
    removed += _remove_pages(quality, fresh)
    return removed


def _count(con, sql: str, params: dict | None = None) -> int:
    return con.execute(sql, params or {}).fetchone()[0]


def _person(by_email: bool, only_new: bool) -> str:
    """The condition naming an erased person's rows (the newly erased only, if asked)."""
    new = " where is_new" if only_new else ""
    who = f"customer_id in (select identifier from _ids{new})"
    if by_email:
        who += f" or lower(trim(email)) in (select identifier from _emails{new})"
    return f"({who})"


def _delete(con, table: str, by_email: bool, since: datetime | None) -> int:
    """Rows of erased people: every row of the newly erased, and rows loaded since the
    last pass of those erased before (a person's data may arrive after the erasure)."""
    earlier = f" or (_loaded_at > '{since}' and {_person(by_email, False)})" if since else ""
    condition = _person(by_email, only_new=since is not None) + earlier
    return _count(con, f"delete from {table} where {condition}")


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
