"""New tags from one behaviour: a share, rate or count far above everyone's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tagwise.catalog.conditions import condition_problems
from tagwise.suggest.suggestion import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SIZE,
    MAX_SUPPORT,
    MIN_LIFT,
    MIN_SUPPORT,
    QUANTILES,
    SAMPLE_MEMBERS,
    Suggestion,
    evidence_of,
    input_columns,
    nice,
    numbers,
    overlaps,
)


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
        return nice(cut) if cut is not None else 0.0
    return nice(float(np.quantile(values, quantile)))


def propose(
    customers: pd.DataFrame, column: str, members: dict[str, set], seed: int
) -> Suggestion | None:
    """`column >= threshold` for a group whose mean is at least MIN_LIFT times everyone's
    (by the lower end of a bootstrap interval), with a support between MIN_SUPPORT and
    MAX_SUPPORT. The threshold is a nice number at the values' natural break when that
    qualifies (a group apart from the rest), else at the most selective upper quantile
    that does."""
    values = numbers(customers, column)
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
    problems = condition_problems(condition, input_columns())
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
        source="affinity",
        keys=frozenset(held),
        evidence=evidence_of([column]),
    )
