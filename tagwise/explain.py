"""`tagwise explain` (SPEC 3.9): why one person has their tags, segments and destinations.

Everything is read from the latest finished build through one read-only connection under
the shared lock (tagwise.privacy.latest_build), so the answer never mixes two builds. As of
an earlier date, tags and segments come from the history tables; evidence, reasons, consent
and destination eligibility are kept for the latest build only, and the answer says so.
"""

from __future__ import annotations

from datetime import date

import duckdb

from tagwise.catalog import SEGMENT_CATALOG, model_meta
from tagwise.privacy import AccessReportError, find_person, latest_build, rows
from tagwise.relations import ref

# How many of the latest segment entries and exits an explanation lists.
LAST_CHANGES = 10


def _consent(con: duckdb.DuckDBPyConnection, key: str) -> list[dict]:
    return rows(
        con,
        "select channel, purpose, status, cast(status_since as date) as since, "
        "coalesce(consent_method, recorded_in) as via, set_by_event_id "
        f"from {ref('consent_state')} where customer_key = ? order by channel, purpose",
        [key],
    )


def consent_detail(reason: str | None, consent: list[dict]) -> str | None:
    """A destination's reason with the consent change behind it, when it is one: "email
    marketing consent withdrawn" becomes "... withdrawn 2026-05-02 via unsubscribe_link"."""
    if reason is None:
        return None
    for row in consent:
        said = f"{row['channel']} {row['purpose']} consent {row['status']}"
        profiling = row["purpose"] == "profiling" and row["status"] == "withdrawn"
        if reason == said or (profiling and reason.startswith("profiling consent withdrawn")):
            where = "" if reason == said else f" ({row['channel']})"
            return f"{reason}{where} {row['since']} via {row['via']}"
    return reason


def _destinations(con: duckdb.DuckDBPyConnection, key: str, consent: list[dict]) -> list[dict]:
    from tagwise.activation.destinations import destinations

    found = {
        row["destination"]: row
        for row in rows(
            con,
            "select destination, is_eligible, not_eligible_because "
            f"from {ref('destination_eligibility')} where customer_key = ?",
            [key],
        )
    }
    answer = []
    for name in sorted(destinations()):
        row = found.get(name)
        if row is None:
            status = "not selected: in none of the segments or audiences it receives"
        elif row["is_eligible"]:
            status = "eligible"
        else:
            status = "not eligible: " + consent_detail(row["not_eligible_because"], consent)
        answer.append({"destination": name, "status": status})
    return answer


def _earlier_primary(segment: str) -> list[dict]:
    """The primary segments before `segment` in the catalog: their conditions did not hold,
    or the person would be in one of them (first match wins)."""
    catalog = model_meta(SEGMENT_CATALOG, "int_segments__assignments")
    earlier = []
    for definition in catalog.get("primary") or []:
        if definition.get("segment") == segment:
            return earlier
        earlier.append({"segment": definition.get("segment"), "when": definition.get("when")})
    return []


def _identity(con: duckdb.DuckDBPyConnection, key: str) -> dict:
    """The person's source records and the links that made them one (SPEC 3.1): each
    rule, the values that matched, and the match probability of a probabilistic link."""
    records = [
        row["customer_id"]
        for row in rows(
            con,
            f"select customer_id from {ref('int_identity__clusters')} "
            "where customer_key = ? order by customer_id",
            [key],
        )
    ]
    links = rows(
        con,
        "select customer_id, linked_customer_id, rule, matched_values, match_probability "
        f"from {ref('identity_links')} where customer_id in "
        f"(select customer_id from {ref('int_identity__clusters')} where customer_key = ?) "
        "order by rule_priority, customer_id, linked_customer_id",
        [key],
    )
    return {"records": records, "links": links}


def explain(warehouse, identifier: str, as_of: date | None = None, verbose: bool = False) -> dict:
    """The explanation of one person (any customer id or email ever held) as a dict."""
    with latest_build(warehouse) as (con, _tables, built):
        as_of = as_of or built
        if as_of > built:
            raise AccessReportError(
                f"the latest build is as of {built}; there is nothing to explain as of {as_of}"
            )
        key, erased = find_person(con, identifier)
        answer: dict = {"identifier": identifier, "as_of_date": as_of, "build_as_of": built}
        if key is None:
            return answer | {"status": "not found"}
        if erased:
            return answer | {"status": "erased", "customer_key": key}
        answer |= {"status": "active", "customer_key": key}
        current = as_of == built
        if current:
            answer["tags"] = rows(
                con,
                "select tag, category, source, evidence, tagged_since "
                f"from {ref('customer_tags')} where customer_key = ? order by category, tag",
                [key],
            )
            answer["segments"] = rows(
                con,
                "select segment, segment_type, is_holdout, reason, member_since "
                f"from {ref('segment_membership')} where customer_key = ? "
                "order by segment_type desc, segment",
                [key],
            )
            # SPEC 3.10: the interests model's ranking, each with what raised it most.
            answer["predicted_interests"] = rows(
                con,
                "select rank, category, probability, is_new_to_customer, top_drivers "
                f"from {ref('customer_category_propensity')} where customer_key = ? order by rank",
                [key],
            )
            # SPEC 3.10: how well each lookalike audience the person is in finds its seed.
            answer["lookalike_quality"] = rows(
                con,
                "select lookalike, seed, audience_size, held_out_size, round(recall, 3) as recall, "
                "round(random_recall, 3) as random_recall, round(lift, 2) as lift "
                f"from {ref('lookalike_quality')} where lookalike in "
                f"(select segment from {ref('segment_membership')} where customer_key = ?) "
                "order by lookalike",
                [key],
            )
            consent = _consent(con, key)
            answer["destinations"] = _destinations(con, key, consent)
            answer["consent"] = consent
            answer["identity"] = _identity(con, key)
        else:
            answer["note"] = (
                f"as of {as_of}, an earlier date than the latest build ({built}): tags and "
                "segments come from history; evidence, reasons, consent and destinations are "
                "kept for the latest build only"
            )
            answer["tags"] = rows(
                con,
                "select tag, source, valid_from as tagged_since "
                f"from {ref('customer_tag_history')} where customer_key = $key "
                "and valid_from <= $d and (valid_to is null or valid_to > $d) order by tag",
                {"key": key, "d": as_of},
            )
            answer["segments"] = rows(
                con,
                "select segment, segment_type, entered_on as member_since "
                f"from {ref('segment_membership_history')} where customer_key = $key "
                "and entered_on <= $d and (exited_on is null or exited_on > $d) "
                "order by segment_type desc, segment",
                {"key": key, "d": as_of},
            )
        if verbose:
            for segment in answer["segments"]:
                if segment["segment_type"] == "primary":
                    segment["earlier_segments_not_holding"] = _earlier_primary(segment["segment"])
        answer["last_changes"] = rows(
            con,
            f"""
            select * from (
                select entered_on as on_date, 'entered' as change, segment, cast(null as varchar) as reason
                from {ref("segment_membership_history")} where customer_key = $key
                union all
                select exited_on, 'left', segment, exit_reason
                from {ref("segment_membership_history")}
                where customer_key = $key and exited_on is not null
            )
            where on_date <= $d
            order by on_date desc, change, segment
            limit {LAST_CHANGES}""",
            {"key": key, "d": as_of},
        )
    return answer
