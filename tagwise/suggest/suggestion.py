"""What a suggestion is, what it is computed from, and the measures every source shares."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from tagwise.catalog.documents import TAG_CATALOG, TAG_INPUTS_DOC, documented_columns, model_meta
from tagwise.errors import TagwiseError
from tagwise.relations import ref
from tagwise.warehouse import connect

# Behaviour a new tag may name: shares, rates and counts of what customers do (not who
# they are: demographics are never a suggestion's condition).
BEHAVIOUR_COLUMNS = (
    "discount_share_365d",
    "app_share_365d",
    "late_night_share_365d",
    "eco_share_365d",
    "premium_share_365d",
    "open_rate_90d",
    "click_rate_90d",
    "pricing_page_views_30d",
    "abandoned_carts_7d",
    "support_tickets_90d",
    "orders_90d",
    "avg_order_value",
)
# A new tag: its members at least this share of customers and at most that one, and its
# behaviour at least MIN_LIFT times the population's (the bound, not the estimate).
MIN_SUPPORT = 0.01
MAX_SUPPORT = 0.30
MIN_LIFT = 2.0
# The population's upper quantiles tried as thresholds, most selective last.
QUANTILES = (0.80, 0.90, 0.95)
# Two tags with at least this Jaccard index are one tag under two names, when each has at
# least MERGE_MEMBERS holders: an index over a handful of people is chance.
MERGE_JACCARD = 0.9
MERGE_MEMBERS = 20
# A tag on at least this share of customers says nothing about anyone.
NEARLY_EVERYONE = 0.95
# A rule tag whose members' values are within this factor of the population's on every
# column its condition names no longer sets anyone apart.
NO_LONGER_DIFFERS = 1.1
BOOTSTRAP_RESAMPLES = 50
BOOTSTRAP_SIZE = 100_000
SAMPLE_MEMBERS = 5
OVERLAPS_SHOWN = 3


class SuggestError(TagwiseError):
    """No build to suggest from, or a build of another date than the one asked for."""


@dataclass
class Suggestion:
    kind: str  # new, merge or retire
    tag: str
    condition: str | None
    members: int
    support: float
    lift: float | None
    lift_lower: float | None
    stability: float | None
    reason: str
    overlap: list[dict] = field(default_factory=list)  # [{tag, jaccard}], largest first
    with_tag: str | None = None  # a merge's other tag
    sample: list[dict] = field(default_factory=list)  # members with their values
    source: str | None = None  # a new tag's: affinity, category, sequence or cluster
    evidence: str | None = None  # a new tag's evidence template, for its catalog rule
    keys: frozenset = field(default=frozenset(), repr=False)  # a new tag's members
    # The previous review's (as_of, and condition and members when it proposed the same).
    previous: dict | None = None

    def as_dict(self) -> dict:
        record = asdict(self)
        record["with"] = record.pop("with_tag")
        del record["keys"]
        return record


@dataclass(frozen=True)
class Inputs:
    """What a suggestion is computed from: one row per customer (the tag rules' inputs) and
    the (customer, tag) pairs of the build, profiling objectors left out of both."""

    as_of: date
    customers: pd.DataFrame
    tags: pd.DataFrame  # customer_key, tag and, from a build, source (rule, manual, model)
    rules: dict[str, str]  # rule tag -> its condition
    # Each category's share of everyone's revenue in the last 365 days.
    category_shares: dict[str, float] = field(default_factory=dict)


def read_inputs(warehouse: Path, as_of: date | None = None) -> Inputs:
    """The latest build's inputs, read through a read-only connection."""
    if not warehouse.exists():
        raise SuggestError(f"no warehouse at {warehouse}: run `tagwise run` first")
    objecting = f"select customer_key from {ref('int_privacy__profiling_objections')}"
    with connect(warehouse, read_only=True) as con:
        built = con.execute(f"select as_of_date from {ref('build_info')}").fetchall()[0][0]
        if as_of is not None and as_of != built:
            raise SuggestError(
                f"the latest build is as of {built}, not {as_of}: "
                f"run `tagwise run --as-of {as_of}` first"
            )
        customers = con.execute(
            f"select * from {ref('int_tags__inputs')} "
            f"where customer_key not in ({objecting}) order by customer_key"
        ).df()
        tags = con.execute(
            f"select distinct customer_key, tag, source from {ref('customer_tags')} "
            f"where customer_key not in ({objecting}) order by tag, customer_key"
        ).df()
        shares = con.execute(
            f"select category, sum(line_revenue) / sum(sum(line_revenue)) over () "
            f"from {ref('int_order_lines__revenue_365d')} "
            f"where customer_key not in ({objecting}) group by category"
        ).fetchall()
    rules = {
        rule["tag"]: rule["when"]
        for rule in model_meta(TAG_CATALOG, "int_tags__rule_matches").get("rules") or []
    }
    category_shares = {category: float(share) for category, share in shares if category}
    return Inputs(built, customers, tags, rules, category_shares)


def jaccard(a: set, b: set) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def overlaps(these: set, members: dict[str, set], but: str | None = None) -> list[dict]:
    """The existing tags sharing members with these, largest Jaccard index first."""
    scored = [
        {"tag": tag, "jaccard": round(jaccard(these, others), 4)}
        for tag, others in members.items()
        if tag != but and these & others
    ]
    return sorted(scored, key=lambda o: (-o["jaccard"], o["tag"]))[:OVERLAPS_SHOWN]


def numbers(customers: pd.DataFrame, column: str) -> np.ndarray:
    """A column's values as numbers, a missing value as 0 (no such behaviour)."""
    return pd.to_numeric(customers[column], errors="coerce").fillna(0).to_numpy(float)


def lift_of(customers: pd.DataFrame, member: pd.Series, column: str) -> float | None:
    values = numbers(customers, column)
    overall = values.mean()
    if not overall or not member.any():
        return None
    return float(values[member.to_numpy()].mean() / overall)


def slug(category: str) -> str:
    """A category as part of a taxonomy-style tag name: lower-case words joined by `-`."""
    return re.sub(r"[^a-z0-9]+", "-", category.lower()).strip("-")


def evidence_of(columns: list[str]) -> str:
    """An evidence template naming each column's value (shares and rates as percentages)."""
    return ", ".join(
        f"{column} {{{column}:pct}}" if column.endswith(("_share_365d", "_rate_90d"))
        else f"{column} {{{column}}}"
        for column in columns
    )  # fmt: skip


@functools.cache
def input_columns() -> frozenset[str]:
    """The documented columns of the tag rules' inputs: what a condition may name."""
    return frozenset(documented_columns(TAG_INPUTS_DOC, "int_tags__inputs"))


def nice(value: float) -> float:
    """A threshold a person would write: two significant digits, never above the value."""
    if value <= 0:
        return 0.0
    digits = 1 - math.floor(math.log10(value))
    return math.floor(value * 10**digits) / 10**digits
