"""What an identity catalog change does, for `tagwise diff` (SPEC 3.1, 3.9): the customers
it merges and splits, with the rules that link or no longer link their records, and what
it does to consent per channel and purpose. Segments, tags and each destination's next
sync are compared by the diff itself, over the rebuilt warehouse.

A build records the identity catalog it resolved customers with (`build_info`); a
working catalog that differs from it, or from a git base's, makes the diff rebuild
identity and everything after it instead of the catalogs' models alone. People are named
by customer_key only, and evidence by rule, never by the values that matched: a diff is
meant for pull-request comments.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tagwise.relations import ref

# Said with every identity preview: the Python steps are not re-run in a scratch build.
PREDICTIONS_NOTE = (
    "predictions (churn, lifetime value, interests, suggested tags) are those of the last "
    "run: a customer the change creates has none until the next run"
)


def normalised(meta: dict) -> dict:
    """The identity catalog as the build records it (macros/identity.sql's
    identity_catalog): the same keys, empty where the catalog leaves them out."""
    return {
        "extra_identifiers": meta.get("extra_identifiers") or [],
        "rules": meta.get("rules") or [],
        "probabilistic": meta.get("probabilistic"),
        "blocklist": meta.get("blocklist") or {},
        "limits": meta.get("limits") or {},
    }


def built_catalog(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The identity catalog the warehouse was built with; None when its build predates
    the record (then nothing is assumed: the diff rebuilds identity)."""
    schema, table = ref("build_info").split(".")
    recorded = con.execute(
        "select count(*) from information_schema.columns where table_catalog = current_database() "
        "and table_schema = ? and table_name = ? and column_name = 'identity_catalog'",
        [schema, table],
    ).fetchone()[0]
    if not recorded:
        return None
    text = con.execute(f"select identity_catalog from {ref('build_info')}").fetchone()[0]
    return json.loads(text) if text else None


def unpreviewable(built: dict | None, after: dict) -> str | None:
    """Why a working identity catalog cannot be previewed on this warehouse, if it cannot:
    an extra identifier ingestion did not keep (raw holds no values of it until the next
    ingestion) would show as no match rather than as the merges it makes."""
    kept = set((built or {}).get("extra_identifiers") or [])
    missing = [name for name in after["extra_identifiers"] if name not in kept]
    if not missing:
        return None
    return (
        f"the identity catalog declares extra identifiers the warehouse has not ingested "
        f"({', '.join(missing)}): run `tagwise run` with it (ingestion keeps their values) "
        "before previewing a change that matches on them"
    )


def sides(
    built: dict | None, base: dict | None, after: dict
) -> tuple[dict[str, dict | None], str | None]:
    """Which sides of a diff rebuild identity, and with which catalog (None: the side keeps
    the warehouse's identity), or why the change cannot be previewed. Both rebuild when
    the working catalog differs from the git base's; without a base, the after side does
    when it differs from the one the warehouse was built with (a build that predates the
    record counts as different)."""
    before = base if base is not None else built
    if before == after:
        return {"before": None, "after": None}, None
    refused = unpreviewable(built, after) or (unpreviewable(built, base) if base else None)
    return {"before": base, "after": after}, refused


# What the comparison reads from a built warehouse: (name, query).
def snapshot_queries() -> tuple[tuple[str, str], ...]:
    return (
        (
            "people",
            f"select customer_id, customer_key from {ref('int_identity__people')}",
        ),
        (
            "links",
            f"select customer_id, linked_customer_id, rule from {ref('identity_links')}",
        ),
        (
            "consent",
            f"select customer_key, channel, purpose, status from {ref('consent_state')}",
        ),
    )


def _moves(con: duckdb.DuckDBPyConnection) -> None:
    """Each source record's customer before and after (null where it has none)."""
    con.execute(
        """
        create or replace temp table identity_moves as
        select
            coalesce(before_rows.customer_id, after_rows.customer_id) as customer_id,
            before_rows.customer_key as before_key,
            after_rows.customer_key as after_key
        from before.people as before_rows
        full join after.people as after_rows using (customer_id)
        """
    )


def _regroupings(
    con: duckdb.DuckDBPyConnection, side: str, sample: int
) -> tuple[int, int, list[dict]]:
    """`side` after: customers made of the records of more than one customer before
    (merges); before: customers whose records now belong to more than one (splits). How
    many, how many records they hold, and a sample with the rules that link (after) or
    linked (before) records across the old or new customers."""
    key, other = ("after_key", "before_key") if side == "after" else ("before_key", "after_key")
    count, records, rows = con.execute(
        f"""
        with regrouped as (
            select {key} as customer_key, count(*) as records,
                count(distinct {other}) as customers,
                list(distinct {other} order by {other}) as others
            from identity_moves
            where {key} is not null and {other} is not null
            group by {key}
            having count(distinct {other}) > 1
        ),
        -- The links on this side that join records of different customers on the other.
        crossing as (
            select moves.{key} as customer_key, string_agg(distinct links.rule, ', ' order by links.rule) as rules
            from {side}.links as links
            inner join identity_moves as moves on links.customer_id = moves.customer_id
            inner join identity_moves as linked on links.linked_customer_id = linked.customer_id
            where moves.{other} <> linked.{other}
            group by moves.{key}
        ),
        listed as (
            select regrouped.*, crossing.rules
            from regrouped left join crossing using (customer_key)
            order by customer_key
            limit {int(sample)}
        )
        select
            (select count(*) from regrouped),
            (select coalesce(sum(records), 0) from regrouped),
            (select list({{'customer_key': customer_key, 'records': records,
                'customers': customers, 'others': others, 'rules': rules}}
                order by customer_key) from listed)
        """
    ).fetchone()
    joined = "merged by" if side == "after" else "were linked by"
    people = [
        {
            "customer_key": row["customer_key"],
            "reason": (
                f"{row['records']} records of {row['customers']} "
                + ("customers before: " if side == "after" else "customers now: ")
                + ", ".join(key[:10] for key in row["others"])
                + (f"; {joined} {row['rules']}" if row["rules"] else "")
            ),
            "records": int(row["records"]),
            "customers": list(row["others"]),
        }
        for row in rows or []
    ]
    return int(count), int(records), people


def _consent(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per channel and purpose: people granted before and after, and the records whose
    person is granted on one side only (a merge that joins a withdrawal withdraws)."""
    rows = con.execute(
        """
        with pairs as (
            select distinct channel, purpose from before.consent
            union
            select distinct channel, purpose from after.consent
        ),
        per_record as (
            select
                pairs.channel, pairs.purpose, moves.customer_id,
                coalesce(before_consent.status = 'granted', false) as granted_before,
                coalesce(after_consent.status = 'granted', false) as granted_after
            from identity_moves as moves
            cross join pairs
            left join before.consent as before_consent
                on moves.before_key = before_consent.customer_key
                and pairs.channel = before_consent.channel and pairs.purpose = before_consent.purpose
            left join after.consent as after_consent
                on moves.after_key = after_consent.customer_key
                and pairs.channel = after_consent.channel and pairs.purpose = after_consent.purpose
        ),
        people as (
            select channel, purpose, side, count(distinct customer_key) as granted
            from (
                select channel, purpose, 'before' as side, customer_key from before.consent where status = 'granted'
                union all
                select channel, purpose, 'after' as side, customer_key from after.consent where status = 'granted'
            )
            group by all
        )
        select
            pairs.channel,
            pairs.purpose,
            coalesce(max(case when people.side = 'before' then people.granted end), 0),
            coalesce(max(case when people.side = 'after' then people.granted end), 0),
            (select count(*) from per_record as r where r.channel = pairs.channel and r.purpose = pairs.purpose
                and r.granted_before and not r.granted_after),
            (select count(*) from per_record as r where r.channel = pairs.channel and r.purpose = pairs.purpose
                and r.granted_after and not r.granted_before)
        from pairs
        left join people on pairs.channel = people.channel and pairs.purpose = people.purpose
        group by pairs.channel, pairs.purpose
        order by pairs.channel, pairs.purpose
        """
    ).fetchall()
    return [
        {
            "channel": channel,
            "purpose": purpose,
            "granted_before": int(before),
            "granted_after": int(after),
            "records_no_longer_granted": int(lost),
            "records_newly_granted": int(gained),
        }
        for channel, purpose, before, after, lost, gained in rows
    ]


def compare(con: duckdb.DuckDBPyConnection, sample: int, rebuilt: bool) -> dict:
    """The identity part of a diff, from the `before` and `after` snapshots in `con`."""
    _moves(con)
    merges, merged_records, merge_sample = _regroupings(con, "after", sample)
    splits, split_records, split_sample = _regroupings(con, "before", sample)
    customers_before, customers_after = con.execute(
        "select count(distinct before_key), count(distinct after_key) from identity_moves"
    ).fetchone()
    return {
        "rebuilt": rebuilt,
        "customers_before": int(customers_before),
        "customers_after": int(customers_after),
        "merges": merges,
        "merged_records": merged_records,
        "merge_sample": merge_sample,
        "splits": splits,
        "split_records": split_records,
        "split_sample": split_sample,
        "consent": _consent(con),
        "note": PREDICTIONS_NOTE if rebuilt else None,
    }


def catalog_file(project_dir: Path) -> Path:
    """The identity catalog a dbt project folder builds with."""
    from tagwise.project import OWNED

    return project_dir.parent / OWNED["catalogs/identity_catalog.yml"]
