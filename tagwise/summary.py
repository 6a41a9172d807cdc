"""Headline figures of a built warehouse, read through a read-only connection."""

from __future__ import annotations

from pathlib import Path

from tagwise.warehouse import read_rows

FIGURES = (
    ("customers", "select count(*) from marts.dim_customers"),
    ("customers with a completed order", "select count(*) from marts.customer_features where orders_lifetime > 0"),
    ("email-marketable customers", "select count(*) from restricted.customer_email_marketability where is_email_marketable"),
    # Why the export is smaller: only segments and audiences the catalog sends to email leave.
    ("  of them in a segment or audience sent to email (the email audience)", "select count(*) from marts.email_audience"),
    ("  of them in none sent to email (not exported)", "select count(*) from restricted.customer_email_marketability as m where m.is_email_marketable and not exists (select 1 from marts.email_audience as a where a.email = m.email)"),
    ("email marketing consent pending", "select count(*) from restricted.consent_state where channel = 'email' and purpose = 'marketing' and status = 'pending'"),
    ("profiling objections", "select count(*) from restricted.int_privacy__profiling_objections"),
    ("suppressed addresses", "select count(*) from restricted.suppression_list"),
    ("erased people", "select count(*) from restricted.int_identity__erased_people"),
    ("privacy requests naming no one (restricted.privacy_request_quarantine)", "select count(*) from restricted.privacy_request_quarantine"),
    ("quarantined rows", "select count(*) from raw.quarantine"),
    ("customer tags", "select count(*) from marts.customer_tags"),
    ("manual tag actions quarantined", "select count(*) from marts.manual_tag_quarantine"),
)  # fmt: skip


def warehouse_summary(warehouse: Path, target: str = "duckdb") -> list[tuple[str, int]]:
    return [(label, read_rows(warehouse, sql, target)[0][0]) for label, sql in FIGURES]


def tag_usage(warehouse: Path, target: str = "duckdb") -> list[tuple[str, int, str | None]]:
    """(tag, customers holding it, why it is not actionable) per active tag, most held first."""
    return read_rows(
        warehouse,
        "select tag, customers, not_actionable_because from marts.tag_usage order by customers desc, tag",
        target,
    )


def segment_sizes(warehouse: Path, target: str = "duckdb") -> list[tuple[str, str, int]]:
    """(segment, type, members) as of the build: primary segments first, largest first."""
    return read_rows(
        warehouse,
        "select segment, segment_type, count(*) from marts.segment_membership "
        "group by all order by segment_type desc, count(*) desc, segment",
        target,
    )
