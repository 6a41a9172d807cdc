"""The model step of a run as of D: fit on completed orders, predict per customer.

Reads the completed orders and profiling objections that dbt built as of D, writes
model.customer_predictions (replaced) and model.fit_parameters (one set per as-of
date), which customer_features then reads. Customers who objected to profiling are
neither fitted nor predicted. Time is in weeks; the horizon is 365 days; CLV is expected
orders in the next 365 days times the expected order value, undiscounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from tagwise.model.fitting import NotEnoughData, fit_bgnbd, fit_gamma_gamma
from tagwise.model.summary import summarize
from tagwise.warehouse import connect

HORIZON_WEEKS = 365 / 7
# Fits use a fixed random sample of at most this many customers; predictions cover all.
FIT_SAMPLE = 200_000

TRANSACTIONS_SQL = """
create or replace temp view model_transactions as
select customer_key, ordered_on as purchase_day, revenue as amount
from intermediate.int_orders__completed
where customer_key not in (select customer_key from restricted.int_privacy__profiling_objections)
"""


@dataclass(frozen=True)
class ModelRun:
    as_of: date
    customers: int
    repeat_customers: int
    fitted: bool
    note: str
    parameters: dict[str, float]


def _sample(size: int) -> np.ndarray:
    if size <= FIT_SAMPLE:
        return np.arange(size)
    return np.sort(np.random.default_rng(0).choice(size, FIT_SAMPLE, replace=False))


def predict(warehouse: Path, as_of: date) -> ModelRun:
    with connect(warehouse) as con:
        con.execute(TRANSACTIONS_SQL)
        summary = summarize(con, "model_transactions", as_of)
        repeat = int(np.sum(summary.x > 0))
        fitted_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        try:
            rows = _sample(len(summary))
            bgnbd = fit_bgnbd(summary.x[rows], summary.t_x[rows], summary.T[rows])
            value = fit_gamma_gamma(summary.x[rows], summary.m[rows])
        except NotEnoughData as reason:
            predictions = pa.table({"customer_key": pa.array([], pa.string())})
            parameters, note = {}, str(reason)
        else:
            expected = bgnbd.expected_purchases(HORIZON_WEEKS, summary.x, summary.t_x, summary.T)
            predictions = pa.table(
                {
                    "customer_key": pa.array(summary.customer_key, pa.string()),
                    "p_alive": bgnbd.p_alive(summary.x, summary.t_x, summary.T),
                    "expected_orders_365d": expected,
                    "predicted_clv_365d": expected * value.expected_value(summary.x, summary.m),
                }
            )
            parameters = {
                "bgnbd_r": bgnbd.r,
                "bgnbd_alpha": bgnbd.alpha,
                "bgnbd_a": bgnbd.a,
                "bgnbd_b": bgnbd.b,
                "gamma_gamma_p": value.p,
                "gamma_gamma_q": value.q,
                "gamma_gamma_gamma": value.gamma,
            }
            note = f"fitted on {min(len(summary), FIT_SAMPLE):,} customers"
        con.execute("begin transaction")
        con.execute("delete from model.customer_predictions")
        if predictions.num_rows:
            con.execute(
                "insert into model.customer_predictions "
                "select customer_key, p_alive, expected_orders_365d, "
                "cast(predicted_clv_365d as decimal(18, 2)), ? from predictions",
                [as_of],
            )
        con.execute("delete from model.fit_parameters where as_of_date = ?", [as_of])
        con.executemany(
            "insert into model.fit_parameters values (?, ?, ?, ?, ?, ?, ?)",
            [
                (as_of, fitted_at, name, float(v), len(summary), repeat, note)
                for name, v in parameters.items()
            ]
            or [(as_of, fitted_at, "none", None, len(summary), repeat, note)],
        )
        con.execute("commit")
    return ModelRun(as_of, len(summary), repeat, bool(parameters), note, parameters)
