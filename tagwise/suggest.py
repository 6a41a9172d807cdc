"""Tags that suggest themselves (SPEC 3.11), first part: from the latest build, propose new
tags where a behaviour sets a group of customers far apart from everyone, merges of tags
whose members are (nearly) the same people, and retirements of tags that match no one,
nearly everyone, or no longer differ from the population on what they name.

Nothing is applied: each suggestion carries a condition in the tag catalog's own syntax
(checked as `tagwise check` checks it) for a person to paste, and `tagwise diff` previews
it. The warehouse is only read. Customers who objected to profiling are left out of every
figure and sample. Deterministic for a given build and seed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from tagwise.catalog.conditions import condition_columns, condition_problems
from tagwise.catalog.documents import TAG_CATALOG, TAG_INPUTS_DOC, documented_columns, model_meta
from tagwise.errors import TagwiseError
from tagwise.relations import ref
from tagwise.warehouse import connect

# Behaviour a new tag may name: shares, rates and counts of what customers do (not who
# they are: demographics are never a suggestion's condition).
BEHAVIOUR_COLUMNS = (
    "discount_share_365d",
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
# Two tags with at least this Jaccard index are one tag under two names.
MERGE_JACCARD = 0.9
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

    def as_dict(self) -> dict:
        record = asdict(self)
        record["with"] = record.pop("with_tag")
        return record


@dataclass(frozen=True)
class Inputs:
    """What a suggestion is computed from: one row per customer (the tag rules' inputs) and
    the (customer, tag) pairs of the build, profiling objectors left out of both."""

    as_of: date
    customers: pd.DataFrame
    tags: pd.DataFrame  # customer_key, tag
    rules: dict[str, str]  # rule tag -> its condition


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
            f"select distinct customer_key, tag from {ref('customer_tags')} "
            f"where customer_key not in ({objecting}) order by tag, customer_key"
        ).df()
    rules = {
        rule["tag"]: rule["when"]
        for rule in model_meta(TAG_CATALOG, "int_tags__rule_matches").get("rules") or []
    }
    return Inputs(built, customers, tags, rules)


def suggest(inputs: Inputs, seed: int = 7) -> list[Suggestion]:
    """Every suggestion, in a fixed order: retirements, merges, then new tags by lift."""
    members = {tag: set(group) for tag, group in inputs.tags.groupby("tag")["customer_key"]}
    population = len(inputs.customers)
    if population == 0:
        return []
    found = retirements(inputs, members) + merges(members, population)
    new = [
        s
        for column in BEHAVIOUR_COLUMNS
        if column in inputs.customers
        if (s := affinity(inputs.customers, column, members, seed)) is not None
    ]
    # A new tag that is an existing tag under another name is a merge, not a new tag.
    for suggestion in new:
        if suggestion.overlap and suggestion.overlap[0]["jaccard"] >= MERGE_JACCARD:
            suggestion.kind, suggestion.with_tag = "merge", suggestion.overlap[0]["tag"]
            suggestion.reason = _merge_reason(suggestion.with_tag, suggestion.overlap[0]["jaccard"])
    found += sorted(new, key=lambda s: (-(s.lift_lower or 0), s.tag))
    return found


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


def _merge_reason(keep: str, index: float) -> str:
    return f"the same people as {keep} (Jaccard {index:.2f}): keep one name"


def merges(members: dict[str, set], population: int) -> list[Suggestion]:
    """Pairs of tags held by (nearly) the same people; the smaller is merged into the larger
    (the name with more holders stays)."""
    found = []
    names = sorted(members)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            index = jaccard(members[first], members[second])
            if index < MERGE_JACCARD:
                continue
            keep, drop = sorted((first, second), key=lambda t: (-len(members[t]), t))
            found.append(
                Suggestion(
                    kind="merge",
                    tag=drop,
                    condition=None,
                    members=len(members[drop]),
                    support=round(len(members[drop]) / population, 4),
                    lift=None,
                    lift_lower=None,
                    stability=None,
                    reason=_merge_reason(keep, index),
                    overlap=[{"tag": keep, "jaccard": round(index, 4)}],
                    with_tag=keep,
                )
            )
    return found


def _numbers(customers: pd.DataFrame, column: str) -> np.ndarray:
    """A column's values as numbers, a missing value as 0 (no such behaviour)."""
    return pd.to_numeric(customers[column], errors="coerce").fillna(0).to_numpy(float)


def _lift(customers: pd.DataFrame, member: pd.Series, column: str) -> float | None:
    values = _numbers(customers, column)
    overall = values.mean()
    if not overall or not member.any():
        return None
    return float(values[member.to_numpy()].mean() / overall)


def retirements(inputs: Inputs, members: dict[str, set]) -> list[Suggestion]:
    """Rule tags that match no one or nearly everyone, or whose members no longer differ
    from the population on any numeric column their condition names."""
    population = len(inputs.customers)
    keys = inputs.customers["customer_key"]
    found = []
    for tag, condition in sorted(inputs.rules.items()):
        holders = members.get(tag, set())
        share = len(holders) / population
        reason = None
        if not holders:
            reason = "matches no one"
        elif share >= NEARLY_EVERYONE:
            reason = f"matches {share:.0%} of customers: it tells no one apart"
        else:
            member = keys.isin(holders)
            numeric = [
                column
                for column in condition_columns(condition)
                if column in inputs.customers
                and pd.api.types.is_numeric_dtype(inputs.customers[column])
            ]
            lifts = {c: lift for c in numeric if (lift := _lift(inputs.customers, member, c))}
            if lifts and all(
                1 / NO_LONGER_DIFFERS <= lift <= NO_LONGER_DIFFERS for lift in lifts.values()
            ):
                named = ", ".join(f"{c} {lift:.2f}x" for c, lift in lifts.items())
                reason = f"its members no longer differ from everyone on what it names ({named})"
        if reason:
            found.append(
                Suggestion(
                    kind="retire",
                    tag=tag,
                    condition=condition,
                    members=len(holders),
                    support=round(share, 4),
                    lift=None,
                    lift_lower=None,
                    stability=None,
                    reason=reason,
                    overlap=overlaps(holders, members, but=tag),
                )
            )
    return found


@functools.cache
def _input_columns() -> frozenset[str]:
    """The documented columns of the tag rules' inputs: what a condition may name."""
    return frozenset(documented_columns(TAG_INPUTS_DOC, "int_tags__inputs"))


def _nice(value: float) -> float:
    """A threshold a person would write: two significant digits, never above the value."""
    if value <= 0:
        return 0.0
    digits = 1 - math.floor(math.log10(value))
    return math.floor(value * 10**digits) / 10**digits


def natural_break(values: np.ndarray) -> float | None:
    """The cut that splits the values into the two most separate groups (Otsu's method:
    the largest variance between the groups): the smallest value above it, or None when
    all values are equal."""
    ordered = np.sort(values)
    n = len(ordered)
    if n < 2 or ordered[0] == ordered[-1]:
        return None
    below = np.arange(1, n)  # the cut after each of the first n - 1 values
    sums = np.cumsum(ordered)[:-1]
    mean_below = sums / below
    mean_above = (ordered.sum() - sums) / (n - below)
    between = below * (n - below) * (mean_above - mean_below) ** 2
    between[ordered[1:] == ordered[:-1]] = -1  # never cut between equal values
    return float(ordered[int(np.argmax(between)) + 1])


def _thresholds(values: np.ndarray, quantile: float | None) -> float:
    """A threshold the rule finds on these values: at the natural break (quantile None) or
    at an upper quantile, as a nice number."""
    if quantile is None:
        cut = natural_break(values)
        return _nice(cut) if cut is not None else 0.0
    return _nice(float(np.quantile(values, quantile)))


def affinity(
    customers: pd.DataFrame, column: str, members: dict[str, set], seed: int
) -> Suggestion | None:
    """`column >= threshold` for a group whose mean is at least MIN_LIFT times everyone's
    (by the lower end of a bootstrap interval), with a support between MIN_SUPPORT and
    MAX_SUPPORT. The threshold is a nice number at the values' natural break when that
    qualifies (a group apart from the rest), else at the most selective upper quantile
    that does."""
    values = _numbers(customers, column)
    population = len(values)
    overall = values.mean()
    if population == 0 or overall <= 0:
        return None
    # m-out-of-n resamples (at most BOOTSTRAP_SIZE rows): at a million customers the
    # interval is a little wider than n-out-of-n would give, never narrower.
    rng = np.random.default_rng(seed)
    size = min(population, BOOTSTRAP_SIZE)
    resamples = [rng.integers(0, population, size) for _ in range(BOOTSTRAP_RESAMPLES)]
    best = None
    for quantile in (None, *reversed(QUANTILES)):  # the natural break first, then by selectivity
        threshold = _thresholds(values, quantile)
        if threshold <= 0:
            continue
        member = values >= threshold
        support = member.mean()
        if not MIN_SUPPORT <= support <= MAX_SUPPORT:
            continue
        lifts, kept = [], []
        for rows in resamples:
            sample = values[rows]
            if sample.mean() > 0 and (sample >= threshold).any():
                lifts.append(sample[sample >= threshold].mean() / sample.mean())
            # The threshold the same rule finds on the resample, and the share of these
            # members it keeps.
            kept.append((values[member] >= _thresholds(sample, quantile)).mean())
        lower = float(np.quantile(lifts, 0.05)) if lifts else 0.0
        if lower >= MIN_LIFT:
            lift = values[member].mean() / overall
            best = (threshold, member, support, lift, lower, float(np.mean(kept)))
            break
    if best is None:
        return None
    threshold, member, support, lift, lower, stability = best
    condition = f"{column} >= {threshold:g}"
    problems = condition_problems(condition, _input_columns())
    if problems:  # a column this module names that the inputs no longer document
        return None
    keys = customers["customer_key"][member]
    held = set(keys)
    sample = (
        customers.loc[member, ["customer_key", column]]
        .sort_values(["customer_key"])
        .head(SAMPLE_MEMBERS)
        .to_dict("records")
    )
    return Suggestion(
        kind="new",
        tag=f"high-{column.replace('_', '-')}",
        condition=condition,
        members=int(member.sum()),
        support=round(float(support), 4),
        lift=round(float(lift), 3),
        lift_lower=round(lower, 3),
        stability=round(stability, 3),
        reason=f"its members' {column} is {lift:.1f}x everyone's (at least {lower:.1f}x)",
        overlap=overlaps(held, members),
        sample=sample,
    )


def review_snippets(suggestions: list[Suggestion], as_of: date) -> str:
    """A review file: each suggestion as the catalog edit that accepts it, commented."""
    lines = [
        f"# tagwise suggest, from the build as of {as_of}. Nothing here is applied: paste",
        "# what you accept into catalogs/tag_catalog.yml (and a new tag's row into",
        "# seeds/tag_taxonomy.csv), then `tagwise check` and `tagwise diff`.",
        "",
    ]
    for s in suggestions:
        lines.append(f"# {s.kind} {s.tag}: {s.reason}; {s.members} customers ({s.support:.1%})")
        if s.kind == "new":
            lines += [
                f"- tag: {s.tag}",
                f"  when: {s.condition}",
                f'  evidence: "{s.condition.split(" ")[0]} of {{{s.condition.split(" ")[0]}}}"',
            ]
        elif s.kind == "merge":
            lines.append(
                f"#   keep {s.with_tag}; make {s.tag} its synonym in seeds/tag_synonyms.csv"
            )
        else:
            lines.append(f"#   remove the rule of {s.tag}; deprecate it in seeds/tag_taxonomy.csv")
        lines.append("")
    return "\n".join(lines)


KIND_COLOURS = {"new": "#2f6fde", "merge": "#c47f17", "retire": "#8a94a6"}


def html_page(suggestions: list[Suggestion], as_of: date, customers: int) -> str:
    """The suggestions as a page a person would rather look at than read: bars of lift and
    of support per suggestion, then a card each with its condition, the existing tags it
    overlaps and a sample of members; plotly inlined, so the page opens offline."""
    import html

    import plotly.graph_objects as go

    named = [s for s in suggestions if s.kind == "new" or s.lift is not None]
    lift = go.Figure(
        go.Bar(
            x=[s.lift for s in named],
            y=[s.tag for s in named],
            orientation="h",
            marker_color=[KIND_COLOURS[s.kind] for s in named],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [0] * len(named),
                "arrayminus": [s.lift - s.lift_lower for s in named],
            },
            name="lift",
        )
    )
    lift.update_layout(
        title="How far each proposed tag's behaviour is above everyone's (bar: lift; "
        "whisker: down to its 5th-percentile bound)",
        xaxis_title="members' mean / everyone's mean",
        template="plotly_white",
        height=140 + 40 * len(named),
        margin={"l": 220},
        yaxis={"autorange": "reversed"},
    )
    support = go.Figure(
        go.Bar(
            x=[s.support for s in suggestions],
            y=[f"{s.kind} {s.tag}" for s in suggestions],
            orientation="h",
            marker_color=[KIND_COLOURS[s.kind] for s in suggestions],
        )
    )
    support.update_layout(
        title="Share of customers each suggestion concerns",
        xaxis={"tickformat": ".0%"},
        template="plotly_white",
        height=140 + 40 * len(suggestions),
        margin={"l": 260},
        yaxis={"autorange": "reversed"},
    )
    cards = []
    for s in suggestions:
        overlap = ", ".join(f"{html.escape(o['tag'])} ({o['jaccard']:.2f})" for o in s.overlap)
        sample = "".join(
            "<li>"
            + ", ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in row.items())
            + "</li>"
            for row in s.sample
        )
        cards.append(
            f"<section class='card {s.kind}'><h3>{s.kind}: {html.escape(s.tag)}</h3>"
            f"<p>{html.escape(s.reason)}</p>"
            + (f"<p><code>{html.escape(s.condition)}</code></p>" if s.condition else "")
            + f"<p>{s.members:,} customers ({s.support:.1%})"
            + (f"; stability {s.stability:.0%}" if s.stability is not None else "")
            + "</p>"
            + (f"<p>overlaps {overlap}</p>" if overlap else "<p>overlaps no tag</p>")
            + (f"<ul>{sample}</ul>" if sample else "")
            + "</section>"
        )
    charts = (
        lift.to_html(full_html=False, include_plotlyjs=True, div_id="lift-chart")
        if named
        else "<p>No new tag is proposed.</p>"
    )
    charts += support.to_html(full_html=False, include_plotlyjs=not named, div_id="support-chart")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tagwise suggest as of {as_of}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2933; }}
h2 {{ margin-top: 2rem; border-bottom: 1px solid #e4e7eb; }}
.card {{ border-left: 4px solid #8a94a6; padding: 0.2rem 1rem; margin: 1rem 0; background: #f8f9fb; }}
.card.new {{ border-color: #2f6fde; }} .card.merge {{ border-color: #c47f17; }}
code {{ background: #eef1f5; padding: 0.1rem 0.3rem; }}
</style></head><body>
<h1>tagwise suggest as of {as_of}</h1>
<p>{len(suggestions)} suggestions from {customers:,} customers who allow profiling. Nothing is
applied: paste what you accept from the review file into the tag catalog, then run
<code>tagwise check</code> and <code>tagwise diff</code>.</p>
<section id="charts"><h2>At a glance</h2>{charts}</section>
<section id="suggestions"><h2>Each suggestion</h2>{"".join(cards)}</section>
</body></html>
"""


def write_review(
    inputs: Inputs, folder: Path, seed: int = 7
) -> tuple[list[Suggestion], list[Path]]:
    """The suggestions of a build written into a folder: suggestions-D.json, the review
    file suggestions-D.yml and the page suggestions-D.html; returns them and the paths."""
    import json

    suggestions = suggest(inputs, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"suggestions-{inputs.as_of}"
    paths = [stem.with_suffix(suffix) for suffix in (".json", ".yml", ".html")]
    records = [s.as_dict() for s in suggestions]
    paths[0].write_text(json.dumps(records, indent=2, default=str) + "\n", encoding="utf-8")
    paths[1].write_text(review_snippets(suggestions, inputs.as_of) + "\n", encoding="utf-8")
    paths[2].write_text(
        html_page(suggestions, inputs.as_of, len(inputs.customers)), encoding="utf-8"
    )
    return suggestions, paths
