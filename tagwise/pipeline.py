"""A build as of D without the orchestrator, for `tagwise backfill` and the tests.

dbt in two phases around the predictive model. The model reads completed orders and
profiling objections as of D and its predictions feed customer_features, so phase 1
builds the model's inputs (and everything upstream), the model step runs, and phase 2
builds the rest. The Dagster graph (orchestration/) orders the same steps from the
assets' dependencies; releasing (gate, export, publish) is only done there.
"""

from __future__ import annotations

from dataclasses import dataclass

from tagwise.dbt import DbtSettings, node_counts, run_dbt
from tagwise.model.pipeline import UPSTREAM_OF_MODEL, ModelRun, predict


@dataclass(frozen=True)
class Build:
    nodes: dict[str, dict[str, int]]
    model: ModelRun


def _merge(*counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    merged: dict[str, dict[str, int]] = {}
    for count in counts:
        for kind, statuses in count.items():
            for status, n in statuses.items():
                merged.setdefault(kind, {}).setdefault(status, 0)
                merged[kind][status] += n
    return merged


def build(settings: DbtSettings, exclude: str | None = None, full_refresh: bool = False) -> Build:
    """Every model, seed and test as of settings.as_of, with the predictions in between."""
    first = run_dbt(
        settings,
        "build",
        select=UPSTREAM_OF_MODEL,
        quiet=True,
        full_refresh=full_refresh,
        exclude=exclude,
    )
    model = predict(settings.warehouse, settings.as_of, settings.target)
    rest = " ".join(part for part in (UPSTREAM_OF_MODEL, exclude) if part)
    second = run_dbt(settings, "build", quiet=True, full_refresh=full_refresh, exclude=rest)
    return Build(_merge(node_counts(first), node_counts(second)), model)
