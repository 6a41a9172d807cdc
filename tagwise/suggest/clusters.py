"""New tags from clusters of customers in feature space (SPEC 3.11): k-means (scikit-learn)
groups the customers who bought in the last 365 days by their standardised behaviour;
each group that two or more behaviours set apart becomes a condition a person can read,
one threshold per behaviour, all of them required. One behaviour alone is the affinity
source's job."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tagwise.catalog.conditions import condition_problems
from tagwise.suggest.suggestion import (
    BEHAVIOUR_COLUMNS,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SIZE,
    MAX_SUPPORT,
    MIN_LIFT,
    MIN_SUPPORT,
    SAMPLE_MEMBERS,
    Suggestion,
    evidence_of,
    input_columns,
    nice,
    numbers,
    overlaps,
)

CLUSTERS = 8
# k-means is fitted on a sample of at most this many buyers, then assigns everyone.
FIT_SIZE = 100_000
# A behaviour sets a cluster apart when one threshold keeps at least this much more of the
# cluster than of everyone else (Youden's J: share of the cluster at or above it minus the
# share of the others).
SEPARATION = 0.5
NAMED_AT_MOST = 3
# The thresholds tried for a behaviour: these quantiles of the cluster's own values.
CUT_QUANTILES = np.arange(0.05, 1.0, 0.05)


def separating_threshold(values: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    """The nice threshold on these values that best tells the cluster (inside) from the
    others, and how well (Youden's J)."""
    best = (0.0, 0.0)
    for cut in _cuts(values[inside]):
        separation = (values[inside] >= cut).mean() - (values[~inside] >= cut).mean()
        if separation > best[1]:
            best = (cut, float(separation))
    return best


def _cuts(values: np.ndarray) -> list[float]:
    """Round thresholds at the values' quantiles; none for no values (a resample of a
    small cluster can miss it entirely)."""
    if len(values) == 0:
        return []
    return [c for c in sorted({nice(v) for v in np.quantile(values, CUT_QUANTILES)}) if c > 0]


def joint_thresholds(values: np.ndarray, inside: np.ndarray, cuts: list[float]) -> list[float]:
    """The thresholds (one per column of values) whose conjunction best matches the cluster
    (largest Jaccard index), from each behaviour's own best cut, a column at a time."""
    cuts = list(cuts)
    for _ in range(2):
        for j in range(len(cuts)):
            others = np.all([values[:, k] >= cuts[k] for k in range(len(cuts)) if k != j], axis=0)

            def index(cut: float, others=others, j=j) -> float:
                both = others & (values[:, j] >= cut)
                return (both & inside).sum() / max((both | inside).sum(), 1)

            candidates = _cuts(values[inside, j]) or [cuts[j]]
            cuts[j] = max(candidates, key=lambda cut: (index(cut), -cut))
    return cuts


def _name(column: str) -> str:
    for suffix in ("_365d", "_90d", "_30d", "_7d"):
        column = column.removesuffix(suffix)
    return column.removesuffix("_share").removesuffix("_rate").replace("_", "-")


def propose(customers: pd.DataFrame, members: dict[str, set], seed: int) -> list[Suggestion]:
    from sklearn.cluster import KMeans

    columns = [c for c in BEHAVIOUR_COLUMNS if c in customers and c in input_columns()]
    population = len(customers)
    if "orders_365d" not in customers or len(columns) < 2 or population == 0:
        return []
    values = np.column_stack([numbers(customers, c) for c in columns])
    buyers = np.flatnonzero(numbers(customers, "orders_365d") > 0)
    if len(buyers) < CLUSTERS * 10:
        return []
    rng = np.random.default_rng(seed)
    fit = np.sort(rng.choice(len(buyers), min(len(buyers), FIT_SIZE), replace=False))
    centre, spread = values[buyers[fit]].mean(axis=0), values[buyers[fit]].std(axis=0)
    spread[spread == 0] = 1.0
    standard = (values[buyers] - centre) / spread
    model = KMeans(CLUSTERS, n_init=4, random_state=seed).fit(standard[fit])
    labels = model.predict(standard)
    everyone = values.mean(axis=0)
    resamples = [rng.integers(0, population, min(population, BOOTSTRAP_SIZE))
                 for _ in range(BOOTSTRAP_RESAMPLES)]  # fmt: skip
    found = []
    for label in range(CLUSTERS):
        inside = labels == label
        cluster = buyers[inside]
        named = []
        for j in range(len(columns)):
            if everyone[j] <= 0 or values[cluster, j].mean() < MIN_LIFT * everyone[j]:
                continue
            cut, separation = separating_threshold(values[buyers, j], inside)
            if separation >= SEPARATION:
                named.append((separation, j, cut))
        named = sorted(named, reverse=True)[:NAMED_AT_MOST]
        if len(named) < 2:
            continue
        named.sort(key=lambda n: n[1])  # in the inputs' order
        chosen = [j for _, j, _ in named]
        joint = joint_thresholds(values[buyers][:, chosen], inside, [cut for *_, cut in named])
        named = [(separation, j, cut) for (separation, j, _), cut in zip(named, joint, strict=True)]
        condition = " and ".join(f"{columns[j]} >= {cut:g}" for _, j, cut in named)
        if condition_problems(condition, input_columns()):
            continue
        member = np.all([values[:, j] >= cut for _, j, cut in named], axis=0)
        support = member.mean()
        if not MIN_SUPPORT <= support <= MAX_SUPPORT:
            continue
        lift = min(values[member, j].mean() / everyone[j] for _, j, _ in named)
        bootstrap = []
        for rows in resamples:
            kept = member[rows]
            if kept.any():
                sample = values[rows]
                bootstrap.append(
                    min(sample[kept, j].mean() / max(sample[:, j].mean(), 1e-12)
                        for _, j, _ in named)
                )  # fmt: skip
        lower = float(np.quantile(bootstrap, 0.05)) if bootstrap else 0.0
        if lower < MIN_LIFT:
            continue
        # Stability: the thresholds found again on resamples of the buyers, and the share
        # of these members they keep.
        kept = []
        for _ in range(min(BOOTSTRAP_RESAMPLES, 10)):
            rows = rng.integers(0, len(buyers), min(len(buyers), BOOTSTRAP_SIZE))
            again = joint_thresholds(values[buyers[rows]][:, chosen], inside[rows], joint)
            kept.append(np.all([values[member, j] >= cut
                                for j, cut in zip(chosen, again, strict=True)],
                               axis=0).mean())  # fmt: skip
        keys = customers["customer_key"].to_numpy()[member]
        shown = [columns[j] for _, j, _ in named]
        sample = (
            customers.loc[member, ["customer_key", *shown]]
            .sort_values("customer_key")
            .head(SAMPLE_MEMBERS)
            .to_dict("records")
        )
        apart = ", ".join(
            f"{columns[j]} {values[member, j].mean() / everyone[j]:.1f}x" for _, j, _ in named
        )
        found.append(
            Suggestion(
                kind="new",
                tag="high-" + "-and-".join(_name(c) for c in shown),
                condition=condition,
                members=int(member.sum()),
                support=round(float(support), 4),
                lift=round(float(lift), 3),
                lift_lower=round(lower, 3),
                stability=round(float(np.mean(kept)), 3),
                reason=f"a cluster of {inside.sum():,} buyers set apart by {apart} of everyone's",
                overlap=overlaps(set(keys), members),
                sample=sample,
                source="cluster",
                keys=frozenset(keys),
                evidence=evidence_of(shown),
            )
        )
    return found
