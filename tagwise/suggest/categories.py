"""New tags from category affinity (SPEC 3.11): customers who spend most of their year in
one category, far more of it than everyone's spending goes to that category."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tagwise.suggest.affinity import natural_break
from tagwise.suggest.suggestion import (
    BOOTSTRAP_RESAMPLES,
    MAX_SUPPORT,
    MIN_LIFT,
    MIN_SUPPORT,
    SAMPLE_MEMBERS,
    Suggestion,
    nice,
    numbers,
    overlaps,
    slug,
)

# The strongest category affinities proposed, at most: every category has its fans, and
# the fans-<category> audiences already list them all.
CATEGORIES_PROPOSED = 3
# A category name a condition's string literal cannot hold as it is.
UNSAFE_IN_LITERAL = re.compile(r"['\\{}]")


def _cut(values: np.ndarray) -> float:
    """A round threshold at the natural break of the fans' shares, else at their median."""
    cut = natural_break(values)
    return nice(cut if cut is not None else float(np.median(values)))


def propose(
    customers: pd.DataFrame, members: dict[str, set], shares: dict[str, float], seed: int
) -> list[Suggestion]:
    """`top_category_365d = 'X' and top_category_share_365d >= t` for the customers whose
    top category X takes at least t of their revenue, t at the natural break of those
    shares, kept when they are MIN_SUPPORT to MAX_SUPPORT of customers and their mean share
    is at least MIN_LIFT times X's share of everyone's revenue (by the 5th percentile of
    bootstrap resamples of them)."""
    columns = {"top_category_365d", "top_category_share_365d"}
    if not columns <= set(customers) or not shares or customers.empty:
        return []
    population = len(customers)
    tops = customers["top_category_365d"].to_numpy()
    top_shares = numbers(customers, "top_category_share_365d")
    rng = np.random.default_rng(seed)
    found = []
    for category, overall in sorted(shares.items()):
        fans = tops == category
        if overall <= 0 or fans.sum() < max(MIN_SUPPORT * population, 2):
            continue
        if UNSAFE_IN_LITERAL.search(category):
            continue
        cut = _cut(top_shares[fans])
        member = fans & (top_shares >= cut)
        support = member.mean()
        if cut <= 0 or not MIN_SUPPORT <= support <= MAX_SUPPORT:
            continue
        values = top_shares[member]
        lift = values.mean() / overall
        resampled = [
            rng.choice(values, len(values)).mean() / overall for _ in range(BOOTSTRAP_RESAMPLES)
        ]
        lower = float(np.quantile(resampled, 0.05))
        if lower < MIN_LIFT:
            continue
        fan_values = top_shares[fans]
        kept = [
            (values >= _cut(rng.choice(fan_values, len(fan_values)))).mean()
            for _ in range(BOOTSTRAP_RESAMPLES)
        ]
        keys = customers["customer_key"].to_numpy()[member]
        shown = ["top_category_365d", "top_category_share_365d"]
        found.append(
            Suggestion(
                kind="new",
                tag=f"mostly-{slug(category)}",
                condition=f"top_category_365d = '{category}' and top_category_share_365d >= {cut:g}",
                members=int(member.sum()),
                support=round(float(support), 4),
                lift=round(float(lift), 3),
                lift_lower=round(lower, 3),
                stability=round(float(np.mean(kept)), 3),
                reason=(
                    f"{category} is on average {values.mean():.0%} of their revenue, "
                    f"{lift:.1f}x its {overall:.1%} of everyone's (at least {lower:.1f}x)"
                ),
                overlap=overlaps(set(keys), members),
                sample=customers.loc[member, ["customer_key", *shown]]
                .sort_values("customer_key")
                .head(SAMPLE_MEMBERS)
                .to_dict("records"),
                source="category",
                evidence="{top_category_share_365d:pct} of revenue in {top_category_365d}",
                keys=frozenset(keys),
            )
        )
    return sorted(found, key=lambda s: (-s.lift_lower, s.tag))[:CATEGORIES_PROPOSED]
