"""New tags from sequences: customers who bought in category A and then, within days, in
category B (SPEC 3.11), far more often than in the other order. The reverse order is the
chance baseline: two categories people simply buy together come in either order about
equally often, a habit or a need that one purchase creates comes in one."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tagwise.suggest.suggestion import (
    BOOTSTRAP_RESAMPLES,
    MAX_SUPPORT,
    MIN_LIFT,
    MIN_SUPPORT,
    SAMPLE_MEMBERS,
    Suggestion,
    overlaps,
    slug,
)

# The inputs' column of each customer's sequences, `|A>B|...|` (int_orders__category_sequences).
SEQUENCE_COLUMN = "category_sequences_365d"
WITHIN_DAYS = 7
# The strongest sequences proposed, at most.
SEQUENCES_PROPOSED = 5
# A category name the condition's `like` pattern cannot hold literally.
UNSAFE_IN_PATTERN = re.compile(r"['%_|>\\{}]")


def propose(customers: pd.DataFrame, members: dict[str, set], seed: int) -> list[Suggestion]:
    """`category_sequences_365d like '%|A>B|%'` for the sequences A then B held by a share
    of customers between MIN_SUPPORT and MAX_SUPPORT and at least MIN_LIFT times as common
    as B then A (by the 5th percentile over bootstrap resamples of customers)."""
    if SEQUENCE_COLUMN not in customers or customers.empty:
        return []
    population = len(customers)
    held = customers[SEQUENCE_COLUMN].dropna()
    pairs = held.str.strip("|").str.split("|").explode()
    pairs = pairs[pairs.str.contains(">", regex=False)]
    if pairs.empty:
        return []
    rows = customers.index.get_indexer(pairs.index)  # the customer of each (customer, pair)
    codes, names = pd.factorize(pairs.to_numpy())
    reverse = pd.Index(names).get_indexer(
        [">".join(reversed(name.split(">", 1))) for name in names]
    )
    counts = np.bincount(codes, minlength=len(names)).astype(float)

    def lifts(count: np.ndarray) -> np.ndarray:
        other = np.where(reverse >= 0, count[np.maximum(reverse, 0)], 0.0)
        return count / np.maximum(other, 1.0)

    rng = np.random.default_rng(seed)
    resampled = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        weights = np.bincount(rng.integers(0, population, population), minlength=population)
        resampled.append(lifts(np.bincount(codes, weights=weights[rows], minlength=len(names))))
    resampled = np.array(resampled)
    lower = np.quantile(resampled, 0.05, axis=0)
    qualifies = (
        (counts / population >= MIN_SUPPORT)
        & (counts / population <= MAX_SUPPORT)
        & (lower >= MIN_LIFT)
    )
    chosen = sorted(np.flatnonzero(qualifies), key=lambda i: (-lower[i], names[i]))
    found = []
    for i in chosen:
        first, then = names[i].split(">", 1)
        if UNSAFE_IN_PATTERN.search(first) or UNSAFE_IN_PATTERN.search(then):
            continue
        keys = customers["customer_key"].to_numpy()[rows[codes == i]]
        sample = (
            customers.loc[customers["customer_key"].isin(keys), ["customer_key", SEQUENCE_COLUMN]]
            .sort_values("customer_key")
            .head(SAMPLE_MEMBERS)
            .to_dict("records")
        )
        lift = float(lifts(counts)[i])
        found.append(
            Suggestion(
                kind="new",
                tag=f"{slug(first)}-then-{slug(then)}",
                condition=f"{SEQUENCE_COLUMN} like '%|{first}>{then}|%'",
                members=len(keys),
                support=round(len(keys) / population, 4),
                lift=round(lift, 3),
                lift_lower=round(float(lower[i]), 3),
                # A sequence has no threshold to move: the share of resamples in which it
                # is still at least MIN_LIFT times as common as the other order.
                stability=round(float((resampled[:, i] >= MIN_LIFT).mean()), 3),
                reason=(
                    f"bought {first}, then {then} within {WITHIN_DAYS} days: {lift:.1f}x as "
                    f"many customers as the other way round (at least {lower[i]:.1f}x)"
                ),
                overlap=overlaps(set(keys), members),
                sample=sample,
                source="sequence",
                keys=frozenset(keys),
                evidence=(
                    f"bought {first}, then {then} within {WITHIN_DAYS} days "
                    f"(of the sequences {{{SEQUENCE_COLUMN}}})"
                ),
            )
        )
        if len(found) == SEQUENCES_PROPOSED:
            break
    return found
