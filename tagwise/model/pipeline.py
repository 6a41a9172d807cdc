"""The model step of a run as of D: fit on completed orders, predict per customer.

Reads the completed orders and profiling objections that dbt built as of D, writes
model.customer_predictions (replaced) and model.fit_parameters (one set per as-of
date), which customer_features then reads. Customers who objected to profiling are
neither fitted nor predicted. Time is in weeks; the horizon is 365 days; CLV is expected
orders in the next 365 days times the expected order value, undiscounted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from tagwise.model.fitting import NotEnoughData, fit_bgnbd, fit_gamma_gamma
from tagwise.model.summary import Summary, summarize
from tagwise.relations import ref, source
from tagwise.spark import SparkSettings, session
from tagwise.warehouse import connect

HORIZON_WEEKS = 365 / 7
# Fits use a fixed random sample of at most this many customers; predictions cover all.
FIT_SAMPLE = 200_000

# The dbt models the model reads (transactions_sql() below); a build runs everything
# upstream of them, then the model, then the rest.
MODEL_INPUTS = ("int_orders__completed", "int_privacy__profiling_objections")
UPSTREAM_OF_MODEL = " ".join(f"+{name}" for name in MODEL_INPUTS)  # a dbt selector


# Portable SQL: DuckDB runs it in place, Spark hands the result over as Arrow.
@functools.cache
def transactions_sql():
    return f"""
select customer_key, ordered_on as purchase_day, revenue as amount
from {ref("int_orders__completed")}
where customer_key not in (select customer_key from {ref("int_privacy__profiling_objections")})
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


@dataclass(frozen=True)
class Fit:
    predictions: pa.Table
    parameters: dict[str, float | None]
    note: str
    customers: int
    repeat_customers: int
    fitted_at: datetime

    def parameter_rows(self, as_of: date) -> list[tuple]:
        """model.fit_parameters rows; one `none` row says why nothing was fitted."""
        return [
            (
                as_of,
                self.fitted_at,
                name,
                None if v is None else float(v),
                self.customers,
                self.repeat_customers,
                self.note,
            )
            for name, v in self.parameters.items()
        ] or [
            (as_of, self.fitted_at, "none", None, self.customers, self.repeat_customers, self.note)
        ]


def fit(summary: Summary) -> Fit:
    repeat = int(np.sum(summary.x > 0))
    fitted_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    try:
        rows = _sample(len(summary))
        bgnbd = fit_bgnbd(summary.x[rows], summary.t_x[rows], summary.T[rows])
        value = fit_gamma_gamma(summary.x[rows], summary.m[rows])
    except NotEnoughData as reason:
        predictions = pa.table({"customer_key": pa.array([], pa.string())})
        return Fit(predictions, {}, str(reason), len(summary), repeat, fitted_at)
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
        "mean_weekly_purchase_rate": bgnbd.mean_weekly_purchase_rate,
        "mean_dropout_probability": bgnbd.mean_dropout_probability,
        "mean_order_value": value.mean_order_value,
    }
    note = f"fitted on {min(len(summary), FIT_SAMPLE):,} customers"
    return Fit(predictions, parameters, note, len(summary), repeat, fitted_at)


def predict(warehouse: Path, as_of: date, target: str = "duckdb") -> ModelRun:
    """Fit as of D and replace the predictions, in the target's warehouse."""
    write = _predict_spark if target == "spark" else _predict_duckdb
    result = write(warehouse, as_of)
    return ModelRun(
        as_of,
        result.customers,
        result.repeat_customers,
        bool(result.parameters),
        result.note,
        result.parameters,
    )


def _predict_duckdb(warehouse: Path, as_of: date) -> Fit:
    with connect(warehouse) as con:
        con.execute(f"create or replace temp view model_transactions as {transactions_sql()}")
        result = fit(summarize(con, "model_transactions", as_of))
        predictions = result.predictions
        con.execute("begin transaction")
        con.execute(f"delete from {source('model', 'customer_predictions')}")
        if predictions.num_rows:
            con.execute(
                f"insert into {source('model', 'customer_predictions')} "
                "select customer_key, p_alive, expected_orders_365d, "
                "cast(predicted_clv_365d as decimal(38, 2)), ? from predictions",
                [as_of],
            )
        con.execute(
            f"delete from {source('model', 'fit_parameters')} where as_of_date = ?", [as_of]
        )
        con.executemany(
            f"insert into {source('model', 'fit_parameters')} values (?, ?, ?, ?, ?, ?, ?)",
            result.parameter_rows(as_of),
        )
        con.execute("commit")
    return result


def _predict_spark(warehouse: Path, as_of: date) -> Fit:
    """Spark reads the transactions and stores the results; the summary and the fit run
    here, as on DuckDB (the fit uses a sample; predicting is one pass over customers)."""
    spark = session(SparkSettings.for_warehouse(warehouse))
    with duckdb.connect() as local:
        local.register("model_transactions", spark.sql(transactions_sql()).toArrow())
        result = fit(summarize(local, "model_transactions", as_of))
    day = f"date '{as_of.isoformat()}'"
    if result.predictions.num_rows:
        spark.createDataFrame(result.predictions).createOrReplaceTempView("predictions")
        spark.sql(
            f"insert overwrite table {source('model', 'customer_predictions')} "
            "select customer_key, p_alive, expected_orders_365d, "
            f"cast(predicted_clv_365d as decimal(38, 2)), {day} from predictions"
        )
    else:
        spark.sql(f"truncate table {source('model', 'customer_predictions')}")
    # Parquet tables have no DELETE: the other dates' rows are read back and rewritten.
    kept = [
        tuple(row)
        for row in spark.sql(
            f"select * from {source('model', 'fit_parameters')} where as_of_date <> {day}"
        )
        .toArrow()
        .to_pylist()
    ]
    spark.createDataFrame(
        kept + result.parameter_rows(as_of),
        schema="as_of_date date, fitted_at timestamp, parameter string, value double, "
        "customers bigint, repeat_customers bigint, note string",
    ).createOrReplaceTempView("fit_parameters_new")
    spark.sql(
        f"insert overwrite table {source('model', 'fit_parameters')} select * from fit_parameters_new"
    )
    return result
