"""The purchase model against what happened: fit on purchases up to a calibration end,
predict each calibration customer's repeat purchases up to a holdout end, and compare
with the purchases they made. `tagwise evaluate-model` reports it with a chart; every run
stores it for a rolling holdout in model.fit_quality (tagwise.model.pipeline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date

import duckdb
import numpy as np

from tagwise.model.fitting import BgNbd, fit_bgnbd
from tagwise.model.summary import Summary, summarize

# A purchase is a customer's day with an order, as in the fit.
WEEK_SQL = """
select
    customer_key,
    cast(floor(date_diff('day', $calibration_end::date, purchase_day) / 7.0) as integer) as week,
    count(distinct purchase_day) as purchases
from {transactions}
where purchase_day > $calibration_end and purchase_day <= $holdout_end
group by all
"""


@dataclass(frozen=True)
class HoldoutFit:
    calibration_end: date
    holdout_end: date
    summary: Summary
    model: BgNbd
    # Per calibration customer and holdout week (the last week may be short).
    actual_by_week: np.ndarray

    @property
    def horizon_weeks(self) -> float:
        return (self.holdout_end - self.calibration_end).days / 7

    @property
    def predicted(self) -> np.ndarray:
        s = self.summary
        return self.model.expected_purchases(self.horizon_weeks, s.x, s.t_x, s.T)

    @property
    def actual(self) -> np.ndarray:
        return self.actual_by_week.sum(axis=1)

    @property
    def predicted_total(self) -> float:
        return float(self.predicted.sum())

    @property
    def actual_total(self) -> int:
        return int(self.actual.sum())

    @property
    def mean_absolute_error(self) -> float:
        return float(np.mean(np.abs(self.predicted - self.actual)))

    @property
    def correlation(self) -> float:
        if len(self.summary) < 2 or np.std(self.actual) == 0:
            return float("nan")
        return float(np.corrcoef(self.predicted, self.actual)[0, 1])

    @property
    def aggregate_ratio(self) -> float:
        """Predicted over actual repeat purchases of all calibration customers."""
        return self.predicted_total / self.actual_total if self.actual_total else float("nan")

    def predicted_by_week(self) -> np.ndarray:
        s = self.summary
        weeks = self.actual_by_week.shape[1]
        cumulative = [
            self.model.expected_purchases(w, s.x, s.t_x, s.T).sum() for w in range(weeks + 1)
        ]
        return np.diff(cumulative)


def holdout_fit(
    con: duckdb.DuckDBPyConnection,
    transactions: str,
    calibration_end: date,
    holdout_end: date,
    rows: Callable[[int], np.ndarray] = np.arange,
) -> HoldoutFit:
    """Fit on `transactions` (customer_key, purchase_day, amount) up to calibration_end and
    count each calibration customer's purchases after it, up to holdout_end; `rows` picks
    the calibration customers to use out of how many there are (all by default)."""
    if holdout_end <= calibration_end:
        raise ValueError(
            f"the holdout must end after the calibration end {calibration_end}; it ends {holdout_end}"
        )
    full = summarize(con, transactions, calibration_end)
    chosen = rows(len(full))
    summary = Summary(*(getattr(full, field.name)[chosen] for field in fields(Summary)))
    model = fit_bgnbd(summary.x, summary.t_x, summary.T)
    weeks = int(np.ceil((holdout_end - calibration_end).days / 7))
    index = {key: i for i, key in enumerate(summary.customer_key)}
    actual_by_week = np.zeros((len(summary), weeks))
    params = {"calibration_end": calibration_end, "holdout_end": holdout_end}
    for key, week, purchases in con.execute(
        WEEK_SQL.format(transactions=transactions), params
    ).fetchall():
        if key in index:
            actual_by_week[index[key], min(week, weeks - 1)] += purchases
    return HoldoutFit(calibration_end, holdout_end, summary, model, actual_by_week)
