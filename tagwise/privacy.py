"""Access reports (SPEC 3.6): everything tagwise holds about one person, as one JSON document.

The report reads a warehouse built as of D (`marts.build_info`) through a read-only
connection, so it never competes with a running build for the write lock.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from tagwise.activation.destinations import destination_keys
from tagwise.errors import TagwiseError
from tagwise.relations import ref, source
from tagwise.warehouse import WarehouseLock, connect, existing_tables


class AccessReportError(TagwiseError):
    """The report cannot be produced; the message says why and what to do."""


# Customer-level published tables: (section, schema.table). Those built by later stages
# are included when the warehouse has them.
@functools.cache
def person_tables():
    return (
        ("profile", ref("dim_customers")),
        ("features", ref("customer_features")),
        ("email_marketability", ref("customer_email_marketability")),
        ("consent", ref("consent_state")),
        ("tags", ref("customer_tags")),
        ("tag_history", ref("customer_tag_history")),
        ("segments", ref("segment_membership")),
        ("segment_history", ref("segment_membership_history")),
    )


# Source rows about the person: (section, staging view, timestamp column, identified by email too).
@functools.cache
def source_rows():
    return (
        ("orders", ref("stg_shop__orders"), "ordered_at", False),
        ("email_events", ref("stg_esp__email_events"), "occurred_at", True),
        ("web_events", ref("stg_web__web_events"), "occurred_at", False),
        ("consent_events", ref("stg_privacy__consent_events"), "occurred_at", True),
        ("privacy_requests", ref("stg_privacy__privacy_requests"), "received_at", True),
        ("manual_tags", ref("stg_crm__manual_tags"), "created_at", False),
        ("support_tickets", ref("stg_crm__support_tickets"), "created_at", False),
        ("survey_responses", ref("stg_crm__survey_responses"), "submitted_at", False),
    )


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def json_value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def find_person(con: duckdb.DuckDBPyConnection, identifier: str) -> tuple[str | None, bool]:
    """(customer_key, erased) of the person an id or email names as of the build: any
    source id merged into them, or any email any version of their records held (an email
    someone holds now names them rather than a former holder), or their customer_key, the
    one id every published table shows (what an analyst has)."""
    value = identifier.strip()
    found = con.execute(
        f"""
        select customer_key from {ref("int_identity__identifiers")}
        where (identifier_type = 'customer_id' and identifier = $id)
            or (identifier_type = 'email' and identifier = lower($id))
            or customer_key = $id
        order by identifier_type = 'customer_id' and identifier = $id desc,
            identifier_type = 'email' and identifier = lower($id) desc, is_current desc
        limit 1""",
        {"id": value},
    ).fetchone()
    if not found:
        # An erased person's identifiers leave the identity tables with the erasure pass;
        # their hashes stay, so the person is still known as erased.
        found = con.execute(
            f"""select customer_key from {source("erasure", "erased_identifiers")}
            where (identifier_type = 'customer_id' and identifier_sha256 = sha256($id))
                or (identifier_type = 'email' and identifier_sha256 = sha256(lower($id)))
            limit 1""",
            {"id": value},
        ).fetchone()
        return (found[0], True) if found else (None, False)
    erased = con.execute(
        f"select 1 from {ref('int_identity__erased_people')} where customer_key = ?", [found[0]]
    ).fetchone()
    return found[0], erased is not None


@contextlib.contextmanager
def latest_build(warehouse: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, set[str], date]]:
    """(connection, tables, as-of date) of the latest finished build: a read-only
    connection under the shared lock, so every read sees that one build, never a build a
    run is writing."""
    if not warehouse.exists():
        raise AccessReportError(f"warehouse {warehouse} does not exist; run `tagwise run` first")
    with WarehouseLock(warehouse, shared=True) as lock, connect(warehouse, read_only=True) as con:
        if (writer := lock.unfinished_writer()) is not None:
            raise AccessReportError(
                f"the last run on {warehouse} ({writer}) did not finish: the warehouse holds a "
                "partial build, not a finished one; run `tagwise run` again, then ask again"
            )
        tables = existing_tables(con)
        if ref("build_info") not in tables:
            raise AccessReportError(f"{warehouse} has no built marts; run `tagwise run` first")
        yield con, tables, con.execute(f"select as_of_date from {ref('build_info')}").fetchone()[0]


def access_report(warehouse: Path, identifier: str, as_of: date | None = None) -> dict:
    """The report from the latest finished build, whatever its date (a request does not
    wait for a build): it says which as-of date it reflects. Read under a shared lock, so
    never from a build a run is writing; `as_of`, when given, must be that build's date."""
    with latest_build(warehouse) as (con, tables, built):
        if as_of is not None and built != as_of:
            raise AccessReportError(
                f"the warehouse holds the build as of {built}, not {as_of}; "
                "leave out --as-of to report from it"
            )
        as_of = built
        key, erased = find_person(con, identifier)
        report: dict = {
            "report": "tagwise access report",
            "identifier": identifier,
            "as_of_date": as_of,
            "generated_at": datetime.now(UTC).replace(microsecond=0),
            "customer_key": key,
        }
        if key is None:
            report["status"] = "not found"
            report["note"] = (
                f"no customer id or email held as of {as_of} matches; see "
                f"{ref('privacy_request_quarantine')} for requests that name no one"
            )
            return report
        if erased:
            report["status"] = "erased"
            report["note"] = (
                "an erasure request was honoured: no customer-level output holds this person"
            )
            return report
        report["status"] = "active"
        ids = [
            r["customer_id"]
            for r in rows(
                con,
                f"select customer_id from {ref('int_identity__people')} where customer_key = ? "
                "order by customer_id",
                [key],
            )
        ]
        # Every address and E.164 phone any version of the person's records held.
        held = con.execute(
            f"select identifier_type, identifier from {ref('int_identity__identifiers')} "
            "where customer_key = ? and identifier_type in ('email', 'phone') order by all",
            [key],
        ).fetchall()
        emails = [identifier for kind, identifier in held if kind == "email"]
        phones = [identifier for kind, identifier in held if kind == "phone"]
        # What names the person at each destination: address, E.164 phone or their hash.
        keys = sorted(destination_keys(held))
        report["source_customer_ids"] = ids
        report["emails_held"] = emails
        report["phones_held"] = phones
        for section, table in person_tables():
            if table in tables:
                report[section] = rows(con, f"select * from {table} where customer_key = ?", [key])
        report["suppression"] = rows(
            con,
            f"select * from {ref('suppression_list')} where email in (select unnest(?))",
            [emails],
        )
        report["source_records"] = rows(
            con,
            f"select * from {ref('stg_crm__customers')} where customer_id in (select unnest(?)) "
            "and updated_at < ?::date + 1 order by customer_id, updated_at",
            [ids, as_of],
        )
        for section, view, moment, by_email in source_rows():
            who = "customer_id in (select unnest($ids))"
            if by_email:
                who += " or email in (select unnest($emails))"
            params = {"ids": ids, "as_of": as_of} | ({"emails": emails} if by_email else {})
            report[section] = rows(
                con,
                f"select * from {view} where ({who}) and {moment} < $as_of::date + 1 order by {moment}",
                params,
            )
        # Rows about the person that ingestion refused, and what each destination was sent.
        report["quarantined_rows"] = rows(
            con,
            "select source, file, row_number, reason, original "
            f"from {source('ingestion', 'quarantine')} "
            "where json_extract_string(original, '$.customer_id') in (select unnest($ids)) "
            "or lower(trim(json_extract_string(original, '$.email'))) in (select unnest($emails)) "
            "order by source, file, row_number",
            {"ids": ids, "emails": emails},
        )
        acknowledged = source("export", "acknowledged")
        if acknowledged in tables:
            report["sent_to_destinations"] = rows(
                con,
                "select destination, 'acknowledged' as state, null as sync_id, key, payload "
                f"from {acknowledged} where key in (select unnest($keys)) "
                "union all select destination, 'sent, not acknowledged', sync_id, key, payload "
                f"from {source('export', 'unacknowledged_changes')} "
                "where key in (select unnest($keys)) "
                "order by destination, state, sync_id",
                {"keys": keys},
            )
        sync_log = source("export", "sync_log")
        if sync_log in tables:
            report["sync_log"] = rows(
                con,
                "select destination, sync_id, key, change, payload_sha256, sent_at, delivery "
                f"from {sync_log} where key in (select unnest($keys)) "
                "order by sent_at, destination, sync_id",
                {"keys": keys},
            )
    return report


def write_report(report: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=json_value) + "\n", encoding="utf-8")
    return path
