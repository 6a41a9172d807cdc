"""Headline figures of a built warehouse, read through a read-only connection."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

from tagwise.relations import ref, source
from tagwise.spark import read_rows
from tagwise.warehouse import connect, existing_tables


@functools.cache
def figures():
    return (
    ("customers", f"select count(*) from {ref('dim_customers')}"),
    ("customers with a completed order", f"select count(*) from {ref('customer_features')} where orders_lifetime > 0"),
    ("email-marketable customers", f"select count(*) from {ref('customer_email_marketability')} where is_email_marketable"),
    # Why the export is smaller: only segments and audiences the catalog sends to email leave.
    ("  of them in a segment or audience sent to email (the email audience)", f"select count(*) from {ref('email_audience')}"),
    ("  of them in none sent to email (not exported)", f"select count(*) from {ref('customer_email_marketability')} as m where m.is_email_marketable and not exists (select 1 from {ref('email_audience')} as a where a.email = m.email)"),
    ("email marketing consent pending", f"select count(*) from {ref('consent_state')} where channel = 'email' and purpose = 'marketing' and status = 'pending'"),
    ("profiling objections", f"select count(*) from {ref('int_privacy__profiling_objections')}"),
    ("suppressed addresses", f"select count(*) from {ref('suppression_list')}"),
    ("erased people", f"select count(*) from {ref('int_identity__erased_people')}"),
    (f"privacy requests naming no one ({ref('privacy_request_quarantine')})", f"select count(*) from {ref('privacy_request_quarantine')}"),
    ("quarantined rows", f"select count(*) from {source('ingestion', 'quarantine')}"),
    ("customer tags", f"select count(*) from {ref('customer_tags')}"),
    ("manual tag actions quarantined", f"select count(*) from {ref('manual_tag_quarantine')}"),
)  # fmt: skip


def warehouse_summary(warehouse: Path, target: str = "duckdb") -> list[tuple[str, int]]:
    return [(label, read_rows(warehouse, sql, target)[0][0]) for label, sql in figures()]


def tag_usage(warehouse: Path, target: str = "duckdb") -> list[tuple[str, int, str | None]]:
    """(tag, customers holding it, why it is not actionable) per active tag, most held first."""
    return read_rows(
        warehouse,
        f"select tag, customers, not_actionable_because from {ref('tag_usage')} order by customers desc, tag",
        target,
    )


def segment_sizes(warehouse: Path, target: str = "duckdb") -> list[tuple[str, str, int]]:
    """(segment, type, members) as of the build: primary segments first, largest first."""
    return read_rows(
        warehouse,
        f"select segment, segment_type, count(*) from {ref('segment_membership')} "
        "group by all order by segment_type desc, count(*) desc, segment",
        target,
    )


def destination_reach(warehouse: Path, target: str = "duckdb") -> list[tuple[str, int, int, str]]:
    """(destination, customers it selects, of them eligible, why the others are not: each
    reason with its count, most common first) per destination of the catalog."""
    rows = read_rows(
        warehouse,
        f"select destination, not_eligible_because, count(*) from {ref('destination_eligibility')} "
        "group by destination, not_eligible_because",
        target,
    )
    reach = []
    for destination in sorted({d for d, _, _ in rows}):
        reasons = sorted(
            ((n, r) for d, r, n in rows if d == destination and r is not None),
            key=lambda counted: (-counted[0], counted[1]),
        )
        eligible = sum(n for d, r, n in rows if d == destination and r is None)
        reach.append((
            destination,
            eligible + sum(n for n, _ in reasons),
            eligible,
            ", ".join(f"{reason} {n:,}" for n, reason in reasons),
        ))  # fmt: skip
    return reach


def reach_notes(warehouse: Path, target: str = "duckdb") -> list[str]:
    """Plain sentences for a build that can reach no one by email, or a destination that
    can reach no one, with the reasons counted (data without email addresses, such as
    The Complete Journey, or consent never collected): an empty export is a finding to
    state, not a silence."""
    notes = []
    reasons = read_rows(
        warehouse,
        f"select not_marketable_because, count(*) from {ref('customer_email_marketability')} "
        "group by 1 order by count(*) desc, 1",
        target,
    )
    if reasons and all(reason is not None for reason, _ in reasons):
        counted = ", ".join(f"{reason} {n:,}" for reason, n in reasons)
        notes.append(
            f"no one is email-marketable: of {sum(n for _, n in reasons):,} customers, "
            f"{counted} ({ref('customer_email_marketability')} says why per customer)"
        )
    for destination, selected, eligible, because in destination_reach(warehouse, target):
        if selected and not eligible:
            notes.append(
                f"destination {destination} reaches no one: of {selected:,} customers its "
                f"segments select, {because}; its files hold no adds"
            )
    return notes


# Guarded values a run names one by one; past these, it counts the rest.
GUARDED_NAMED = 5


def identity_notes(warehouse: Path, target: str = "duckdb") -> list[str]:
    """What the identity catalog's guards kept from merging people in this build, the
    values with the most records first (SPEC 3.1); nothing when they stopped nothing."""
    guarded = read_rows(
        warehouse,
        "select guard, identifier_or_rule, guarded_value, source_customer_ids "
        f"from {ref('identity_guarded_values')} "
        "order by source_customer_ids desc, guard, identifier_or_rule, guarded_value",
        target,
    )
    if not guarded:
        return []
    named = "; ".join(
        f"{value} ({where}, {guard}: {records:,} records)"
        for guard, where, value, records in guarded[:GUARDED_NAMED]
    )
    more = f"; and {len(guarded) - GUARDED_NAMED:,} more" if len(guarded) > GUARDED_NAMED else ""
    return [
        f"identity guards kept {len(guarded):,} value(s) from merging people: {named}{more} "
        f"({ref('identity_guarded_values')} lists them)"
    ]


# The behaviour the features count as days: a purchase, an email or web event.
ACTIVITY = (
    ("orders", "ordered_at"),
    ("email_events", "occurred_at"),
    ("web_events", "occurred_at"),
)
# Beyond this many days between the newest activity and D, a run says what the gap does.
STALE_AFTER_DAYS = 3


def data_gap(warehouse: Path, as_of: date) -> str | None:
    """Why D may not be what the user meant: it lies more than STALE_AFTER_DAYS after the
    newest purchase, email or web event in raw (a sample, an export that stopped). None
    when the data is recent enough, or the warehouse holds no activity."""
    with connect(warehouse, read_only=True) as con:
        tables = existing_tables(con)
        parts = [
            f"select max(cast({column} as date)) as d from raw.{table}"
            for table, column in ACTIVITY
            if f"raw.{table}" in tables
        ]
        newest = (
            con.execute(f"select max(d) from ({' union all '.join(parts)})").fetchone()[0]
            if parts
            else None
        )
    if newest is None or (as_of - newest).days <= STALE_AFTER_DAYS:
        return None
    days = (as_of - newest).days
    return (
        f"as of {as_of}, the newest purchase, email or web event is of {newest}, {days} days "
        "earlier: every customer is treated as having done nothing for those days (recency "
        "grows, lifecycle tags such as at-risk and inactive and the model's churn follow). To "
        f"classify as of the data, run with --as-of {newest}; a scheduled daily run uses today."
    )
