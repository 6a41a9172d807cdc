"""The interests model: LightGBM on the candidate pairs, and why each prediction is high.

Two boosters, because buying a category again and buying one for the first time follow
different rules and the second is far rarer:

- `repeat`, on the customer's own categories, learns from their rhythm in it;
- `discovery`, on categories new to the customer, starts from what buyers of the
  customer's own top categories buy (the logit of the mean share, over those categories,
  of their buyers who bought this one: item-based co-purchase, each pair's initial
  score) and learns only what moves a customer away from it. Small trees and few rounds
  keep it near that prior: on The Complete Journey as of 2017-09-30 a discovery booster
  fitted from scratch ranked new categories below plain popularity (hit rate at 3:
  0.602 against 0.648), one boosted from popularity about even (0.645), and the
  co-purchase prior alone above it (0.652). The training window there sees less history
  than the scored one (the data starts 2017-01-01: 92 days before the training cutoff,
  183 before the scored one), so a category "new" to a customer in training is often one
  they buy every few months, and what the booster learns does not transfer (a logistic
  regression of the labels on the prior and popularity, fitted there, weighs popularity
  negatively). When the training windows do not reach a full lookback of history, the
  discovery ranking is therefore the prior alone: no correction is learned from windows
  unlike the one scored.
  The prior is no probability (a co-purchase share of 0.9 does not mean 9 in 10 buy),
  so the booster's scores are calibrated on its training pairs (Platt scaling: a
  logistic regression on the score), which keeps each customer's order of new
  categories and lets own and new categories be ranked together.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm
import numpy as np
import pandas as pd

from tagwise.interests.features import FEATURES, NO_SOURCE, OWN_TOP, SOURCES

# Fixed, so that a fit is the same for the same data on any machine.
_COMMON = {
    "objective": "binary",
    "learning_rate": 0.05,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "feature_fraction": 0.8,
    "seed": 0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}
# Small trees, few rounds: each prediction's contributions (the drivers) cost in
# proportion to rounds x leaves x depth squared. On The Complete Journey as of
# 2017-09-30, 40 rounds of 7 leaves at a rate of 0.3 rank as well as 300 rounds of 31
# leaves at 0.05 did (precision at 3 0.7594 against 0.7586, AUC 0.764 against 0.764),
# for a tenth of the drivers' time.
REPEAT = {**_COMMON, "num_leaves": 7, "min_data_in_leaf": 50, "learning_rate": 0.3}
REPEAT_ROUNDS = 40
DISCOVERY = {**_COMMON, "num_leaves": 7, "min_data_in_leaf": 100}
DISCOVERY_ROUNDS = 50
PRIOR = "association_probability"


class NothingToLearn(ValueError):
    """The training window has no purchase to learn from, or nothing but purchases."""


@dataclass(frozen=True)
class InterestModel:
    repeat: lightgbm.Booster
    # None: the prior alone ranks new categories (fit's `learn_discovery`).
    discovery: lightgbm.Booster | None
    # Platt scaling of the discovery score: probability = sigmoid(slope * score + intercept).
    slope: float
    intercept: float

    def discovery_score(self, rows: pd.DataFrame) -> np.ndarray:
        if self.discovery is None:
            return _prior(rows)
        return self.discovery.predict(_matrix(rows), raw_score=True) + _prior(rows)


def fit(training: pd.DataFrame, learn_discovery: bool = True) -> InterestModel:
    """The two boosters; without `learn_discovery` (the training windows see less history
    than a full lookback), new categories are ranked by the co-purchase prior alone,
    calibrated on the training pairs all the same."""
    new = training["is_new"].to_numpy(dtype=bool)
    repeat = _booster(training[~new], REPEAT, REPEAT_ROUNDS, prior=False)
    discovery = (
        _booster(training[new], DISCOVERY, DISCOVERY_ROUNDS, prior=True)
        if learn_discovery
        else _nothing_to_learn(training[new], prior=True)
    )
    model = InterestModel(repeat, discovery, 1.0, 0.0)
    slope, intercept = _platt(
        model.discovery_score(training[new]), training["label"].to_numpy(dtype=float)[new]
    )
    return InterestModel(repeat, discovery, slope, intercept)


def predict(model: InterestModel, candidates: pd.DataFrame) -> np.ndarray:
    """The probability of each pair being bought in the window."""
    new = candidates["is_new"].to_numpy(dtype=bool)
    scores = np.empty(len(candidates))
    if (~new).any():  # LightGBM refuses an empty matrix
        scores[~new] = model.repeat.predict(_matrix(candidates[~new]), raw_score=True)
    if new.any():
        scores[new] = model.slope * model.discovery_score(candidates[new]) + model.intercept
    return 1 / (1 + np.exp(-scores))


def _platt(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the logistic regression of the labels on the scores."""
    from scipy.optimize import minimize

    def loss(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        z = parameters[0] * scores + parameters[1]
        p = 1 / (1 + np.exp(-z))
        # log(1 + e^z) - y z, written to stay finite for large |z|
        value = np.sum(np.logaddexp(0, z) - labels * z)
        residual = p - labels
        return float(value), np.array([np.sum(residual * scores), np.sum(residual)])

    found = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(found.x[0]), float(found.x[1])


def drivers(model: InterestModel, candidates: pd.DataFrame, count: int = 3) -> list[str]:
    """Per pair, a sentence naming the `count` inputs that raised its probability most,
    with their values: LightGBM's own contributions, in log-odds; for a new category,
    the co-purchase prior's distance from an even chance counts as that input's. Three,
    because the first is often what every customer sees (a category's summer surge) and
    the next say why this customer (on the planted spring-to-summer sequence, the
    drivers of 66% of the trigger buyers named the trigger with three, 19% with two)."""
    names = list(FEATURES)
    values = _matrix(candidates)
    new = candidates["is_new"].to_numpy(dtype=bool)
    contributions = np.zeros_like(values)
    for booster, rows in ((model.repeat, ~new), (model.discovery, new)):
        if booster is not None and rows.any():  # LightGBM refuses an empty matrix
            contributions[rows] = booster.predict(values[rows], pred_contrib=True)[:, : len(names)]
    contributions[new, names.index(PRIOR)] += _prior(candidates[new])
    # The `count` largest per pair, largest first; only those above 0 raised it.
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :count]
    raised = np.take_along_axis(contributions, order, axis=1) > 0
    phrases = np.full(order.shape, "", dtype=object)
    for index, feature in enumerate(names):
        named = (order == index) & raised  # a feature holds one place of a pair at most
        pairs = named.any(axis=1)
        if pairs.any():
            phrases[named] = _phrases(feature, candidates[pairs], values[pairs])
    sentences = phrases[:, 0]
    for place in range(1, count):
        following = phrases[:, place] != ""
        sentences = np.where(following, sentences + "; " + phrases[:, place], sentences)
    return [text or "no input raised it above an even chance" for text in sentences]


def _phrases(feature: str, candidates: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """The driver phrase of one feature for each of these pairs, with its value and the
    category it names (NO_SOURCE's when the pair has none); each distinct phrase is
    written once."""
    names = list(FEATURES)
    keys = pd.DataFrame({"value": values[:, names.index(feature)]})
    source = SOURCES.get(feature)
    if source is not None:
        keys[source] = candidates[source].to_numpy(dtype=object)
    if feature == PRIOR:
        keys["mean_share"] = values[:, names.index(PRIOR)] / OWN_TOP
    codes = keys.groupby(list(keys.columns), dropna=False, sort=False).ngroup().to_numpy()
    written = [
        NO_SOURCE[feature]
        if source is not None and pd.isna(first[source])
        else FEATURES[feature].format(**first)
        for first in keys.drop_duplicates().to_dict("records")
    ]
    return np.array(written, dtype=object)[codes]


def _nothing_to_learn(rows: pd.DataFrame, prior: bool) -> None:
    """Raises NothingToLearn when the rows' labels are all alike (or there are none)."""
    labels = rows["label"].to_numpy(dtype=int)
    if not len(labels) or labels.min() == labels.max():
        kind = "new" if prior else "own"
        raise NothingToLearn(
            f"{len(rows):,} candidate pairs of {kind} categories to learn from, "
            f"{labels.sum():,} of them bought in the window: nothing to tell apart"
        )


def _booster(rows: pd.DataFrame, parameters: dict, rounds: int, prior: bool) -> lightgbm.Booster:
    _nothing_to_learn(rows, prior)
    labels = rows["label"].to_numpy(dtype=int)
    data = lightgbm.Dataset(
        _matrix(rows),
        labels,
        feature_name=list(FEATURES),
        init_score=_prior(rows) if prior else None,
    )
    return lightgbm.train(parameters, data, num_boost_round=rounds)


def _prior(rows: pd.DataFrame) -> np.ndarray:
    """A new pair's initial score: the logit of the mean share of the buyers of the
    customer's top categories who bought this one."""
    summed = rows[PRIOR].to_numpy(dtype=float, na_value=0.0)
    share = np.clip(summed / OWN_TOP, 1e-4, 1 - 1e-4)
    return np.log(share / (1 - share))


def _matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame[list(FEATURES)].to_numpy(dtype=float, na_value=np.nan)
