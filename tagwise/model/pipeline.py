"""The model step of a run as of D: fit on completed orders, predict per customer.

Reads the completed orders and profiling objections that dbt built as of D, writes
model.customer_predictions (replaced) and model.fit_parameters (one set per as-of
date), which customer_features then reads, and model.fit_quality: how well a fit on the
purchases up to model_holdout_weeks before D predicts the purchases since (one row per
as-of date). Customers who objected to profiling are
neither fitted nor predicted. Time is in weeks; the horizon is 365 days; CLV is expected
orders in the next 365 days times the expected order value, undiscounted.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from tagwise.interests.features import INTEREST_INPUTS
from tagwise.model.accuracy import holdout_fit
from tagwise.model.fitting import BgNbd, GammaGamma, NotEnoughData, fit_bgnbd, fit_gamma_gamma
from tagwise.model.summary import Summary, summarize
from tagwise.relations import ref, source
from tagwise.settings import current
from tagwise.spark import SparkSettings, session
from tagwise.warehouse import connect

HORIZON_WEEKS = 365 / 7
# The Gamma-Gamma fit is used for CLV only where it is identified and its assumption holds.
# Past GAMMA_GAMMA_MAX_PARAMETER for p or q the likelihood is flat along a ridge: p and q run
# off together (p went from 1.7 to 127,000 between two days of the demo) and CLV moves with
# them. The model assumes order value independent of frequency (Fader and Hardie check the
# correlation: 0.11 on CDNOW, 0.31 on the demo, whose big spenders buy more often); past
# GAMMA_GAMMA_MAX_CORRELATION it does not hold. Either way CLV uses the population mean
# order value, and the fit's note says why.
GAMMA_GAMMA_MAX_PARAMETER = 1_000.0
GAMMA_GAMMA_MAX_CORRELATION = 0.5
# Fits use a fixed random sample of at most this many customers; predictions cover all.
FIT_SAMPLE = 200_000

# The dbt models the model reads (transactions_sql() below), and those the interests step
# reads: a build runs everything upstream of them, then both, then the rest.
MODEL_INPUTS = ("int_orders__completed", "int_privacy__profiling_objections")
MODEL_STEP_INPUTS = tuple(dict.fromkeys(MODEL_INPUTS + INTEREST_INPUTS))
UPSTREAM_OF_MODEL = " ".join(f"+{name}" for name in MODEL_STEP_INPUTS)  # a dbt selector


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
    quality: FitQuality


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


@dataclass(frozen=True)
class PopulationMeanOrderValue:
    """What CLV uses when the Gamma-Gamma fit is not: every customer's expected order value
    is the mean over the fitted repeat customers of their mean order value (what the
    Gamma-Gamma's own population mean estimates)."""

    mean_order_value: float

    def expected_value(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.full(len(np.asarray(x)), self.mean_order_value)


def gamma_gamma_problem(value: GammaGamma, x: np.ndarray, m: np.ndarray) -> str | None:
    """Why a Gamma-Gamma fit on these customers must not be used, or None."""
    for name in ("p", "q"):
        if getattr(value, name) > GAMMA_GAMMA_MAX_PARAMETER:
            return f"{name} = {getattr(value, name):,.0f} is above {GAMMA_GAMMA_MAX_PARAMETER:,.0f}"
    if value.q <= 1:
        return f"q = {value.q:.3f} leaves the order value without a mean"
    repeat = (x > 0) & (m > 0)
    correlation = float(np.corrcoef(x[repeat], m[repeat])[0, 1]) if repeat.sum() > 2 else 0.0
    if abs(correlation) > GAMMA_GAMMA_MAX_CORRELATION:
        return (
            f"frequency and order value correlate at {correlation:.2f}, "
            f"beyond {GAMMA_GAMMA_MAX_CORRELATION}"
        )
    return None


def order_value_model(
    x: np.ndarray, m: np.ndarray, start: GammaGamma | None = None
) -> tuple[GammaGamma, object, str]:
    """(the Gamma-Gamma fit, what CLV uses, a note when that is not the fit)."""
    value = fit_gamma_gamma(x, m, start)
    problem = gamma_gamma_problem(value, x, m)
    if problem is None:
        return value, value, ""
    repeat = (x > 0) & (m > 0)
    mean = float(np.mean(m[repeat]))
    note = (
        f"; Gamma-Gamma not used ({problem}): CLV uses the population mean order value {mean:,.2f}"
    )
    return value, PopulationMeanOrderValue(mean), note


@dataclass(frozen=True)
class WarmStart:
    """The fit a run's search starts from: the latest earlier as-of date's. The likelihood
    of one day's data is nearly that of the day before, and a search from a fixed point
    can end anywhere along a flat ridge of it; from yesterday's optimum it ends at the
    nearby optimum of today. A Gamma-Gamma fit that CLV did not use (gamma_gamma_used 0: on
    a ridge, or its assumption failing) is no place to start from; nor is a fit recorded
    before that flag was."""

    as_of_date: date
    bgnbd: BgNbd | None
    gamma_gamma: GammaGamma | None

    @classmethod
    def from_rows(cls, rows: list[tuple[date, str, float | None]]) -> WarmStart | None:
        """From (as_of_date, parameter, value) rows of model.fit_parameters, one date's."""
        if not rows:
            return None
        values = {name: value for _, name, value in rows if value is not None}

        def model(kind, prefix: str):
            names = [f"{prefix}_{field.name}" for field in dataclasses.fields(kind)]
            if not all(
                np.isfinite(values.get(name, np.nan)) and values[name] > 0 for name in names
            ):
                return None
            return kind(*(values[name] for name in names))

        gamma_gamma = model(GammaGamma, "gamma_gamma") if values.get("gamma_gamma_used") else None
        return cls(rows[0][0], model(BgNbd, "bgnbd"), gamma_gamma)

    def note(self) -> str:
        started = [
            name for name, fit in (("BG/NBD", self.bgnbd), ("Gamma-Gamma", self.gamma_gamma)) if fit
        ]
        return f", {' and '.join(started)} from the fit of {self.as_of_date}" if started else ""


def date_literal(day: date) -> str:
    """A date literal both engines read."""
    return f"date '{day.isoformat()}'"


def previous_fit_sql(as_of: date) -> str:
    """The parameters of the latest as-of date before D: a rerun of D starts where D did."""
    fit_parameters, day = source("model", "fit_parameters"), date_literal(as_of)
    return f"""
select as_of_date, parameter, value
from {fit_parameters}
where as_of_date = (select max(as_of_date) from {fit_parameters} where as_of_date < {day})
"""


def _nothing_predicted(summary: Summary, reason: str, repeat: int, fitted_at: datetime) -> Fit:
    predictions = pa.table({"customer_key": pa.array([], pa.string())})
    return Fit(predictions, {}, reason, len(summary), repeat, fitted_at)


def fit(summary: Summary, start: WarmStart | None = None) -> Fit:
    repeat = int(np.sum(summary.x > 0))
    fitted_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    try:
        rows = _sample(len(summary))
        bgnbd = fit_bgnbd(
            summary.x[rows], summary.t_x[rows], summary.T[rows], start and start.bgnbd
        )
        gamma_gamma, value, fallback = order_value_model(
            summary.x[rows], summary.m[rows], start and start.gamma_gamma
        )
    except NotEnoughData as reason:
        return _nothing_predicted(summary, str(reason), repeat, fitted_at)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = bgnbd.expected_purchases(HORIZON_WEEKS, summary.x, summary.t_x, summary.T)
        values = {
            "p_alive": bgnbd.p_alive(summary.x, summary.t_x, summary.T),
            "expected_orders_365d": expected,
            "predicted_clv_365d": expected * value.expected_value(summary.x, summary.m),
        }
    # A degenerate fit (on 177 customers, a = 118,867 and b = 6,094,292) overflows the
    # expected purchases: nothing is predicted, and the run says why (fail closed).
    broken = [name for name, column in values.items() if not np.all(np.isfinite(column))]
    if broken:
        reason = (
            f"the BG/NBD fit on {len(rows):,} customers (r = {bgnbd.r:.4g}, alpha = "
            f"{bgnbd.alpha:.4g}, a = {bgnbd.a:.4g}, b = {bgnbd.b:.4g}) gives no finite "
            f"{broken[0]} for some customers: nothing is predicted"
        )
        return _nothing_predicted(summary, reason, repeat, fitted_at)
    predictions = pa.table(
        {"customer_key": pa.array(summary.customer_key, pa.string())}
        | {name: pa.array(column, pa.float64()) for name, column in values.items()}
    )
    parameters = {
        "bgnbd_r": bgnbd.r,
        "bgnbd_alpha": bgnbd.alpha,
        "bgnbd_a": bgnbd.a,
        "bgnbd_b": bgnbd.b,
        "gamma_gamma_p": gamma_gamma.p,
        "gamma_gamma_q": gamma_gamma.q,
        "gamma_gamma_gamma": gamma_gamma.gamma,
        "mean_weekly_purchase_rate": bgnbd.mean_weekly_purchase_rate,
        "mean_dropout_probability": bgnbd.mean_dropout_probability,
        "mean_order_value": value.mean_order_value,
        # 1 when CLV uses the Gamma-Gamma fit, 0 when it uses the population mean order value.
        "gamma_gamma_used": float(value is gamma_gamma),
    }
    started = start.note() if start else ""
    note = f"fitted on {min(len(summary), FIT_SAMPLE):,} customers{started}{fallback}"
    return Fit(predictions, parameters, note, len(summary), repeat, fitted_at)


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


@dataclass(frozen=True)
class FitQuality:
    """A row of model.fit_quality (its columns are declared in the model source)."""

    as_of_date: date
    fitted_at: datetime
    calibration_end: date
    customers: int | None
    predicted_purchases: float | None
    actual_purchases: int | None
    aggregate_ratio: float | None
    mean_absolute_error: float | None
    correlation: float | None
    note: str

    def row(self) -> tuple:
        return dataclasses.astuple(self)


def fit_quality(
    con: duckdb.DuckDBPyConnection, transactions: str, as_of: date, fitted_at: datetime
) -> FitQuality:
    """The rolling holdout of D: a fit up to model_holdout_weeks before D against the
    purchases since, as `tagwise evaluate-model` computes it."""
    calibration_end = as_of - timedelta(weeks=current().model_holdout_weeks)
    try:
        result = holdout_fit(con, transactions, calibration_end, as_of, rows=_sample)
    except NotEnoughData as reason:
        empty = (None,) * 6
        return FitQuality(as_of, fitted_at, calibration_end, *empty, f"nothing evaluated: {reason}")
    return FitQuality(
        as_of,
        fitted_at,
        calibration_end,
        len(result.summary),
        result.predicted_total,
        result.actual_total,
        _finite(result.aggregate_ratio),
        result.mean_absolute_error,
        _finite(result.correlation),
        f"fitted up to {calibration_end} on {len(result.summary):,} customers",
    )


def predict(warehouse: Path, as_of: date, target: str = "duckdb") -> ModelRun:
    """Fit as of D and replace the predictions, in the target's warehouse."""
    write = _predict_spark if target == "spark" else _predict_duckdb
    result, quality = write(warehouse, as_of)
    return ModelRun(
        as_of,
        result.customers,
        result.repeat_customers,
        bool(result.parameters),
        result.note,
        result.parameters,
        quality,
    )


def _predict_duckdb(warehouse: Path, as_of: date) -> tuple[Fit, FitQuality]:
    with connect(warehouse) as con:
        con.execute(f"create or replace temp view model_transactions as {transactions_sql()}")
        previous = con.execute(previous_fit_sql(as_of)).fetchall()
        result = fit(summarize(con, "model_transactions", as_of), WarmStart.from_rows(previous))
        quality = fit_quality(con, "model_transactions", as_of, result.fitted_at)
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
        con.execute(f"delete from {source('model', 'fit_quality')} where as_of_date = ?", [as_of])
        con.execute(
            f"insert into {source('model', 'fit_quality')} values ({', '.join('?' * len(quality.row()))})",
            quality.row(),
        )
        con.execute("commit")
    return result, quality


def _predict_spark(warehouse: Path, as_of: date) -> tuple[Fit, FitQuality]:
    """Spark reads the transactions and stores the results; the summary and the fit run
    here, as on DuckDB (the fit uses a sample; predicting is one pass over customers)."""
    spark = session(SparkSettings.for_warehouse(warehouse))
    day = date_literal(as_of)
    previous = spark.sql(previous_fit_sql(as_of)).collect()
    with duckdb.connect() as local:
        local.register("model_transactions", spark.sql(transactions_sql()).toArrow())
        start = WarmStart.from_rows([tuple(row) for row in previous])
        result = fit(summarize(local, "model_transactions", as_of), start)
        quality = fit_quality(local, "model_transactions", as_of, result.fitted_at)
    if result.predictions.num_rows:
        spark.createDataFrame(result.predictions).createOrReplaceTempView("predictions")
        spark.sql(
            f"insert overwrite table {source('model', 'customer_predictions')} "
            "select customer_key, p_alive, expected_orders_365d, "
            f"cast(predicted_clv_365d as decimal(38, 2)), {day} from predictions"
        )
    else:
        spark.sql(f"truncate table {source('model', 'customer_predictions')}")
    replace_rows_of_date(
        spark, source("model", "fit_parameters"), day, result.parameter_rows(as_of)
    )
    replace_rows_of_date(spark, source("model", "fit_quality"), day, [quality.row()])
    return result, quality


def replace_rows_of_date(spark, table: str, day: str, rows: list[tuple]) -> None:
    """The table's rows of one as-of date replaced by `rows`. Parquet tables have no
    DELETE: the other dates' rows are read back and rewritten."""
    others = spark.sql(f"select * from {table} where as_of_date <> {day}").toArrow()
    kept = [tuple(row.values()) for row in others.to_pylist()]
    spark.createDataFrame(kept + rows, schema=spark.table(table).schema).createOrReplaceTempView(
        "rows_of_every_date"
    )
    spark.sql(f"insert overwrite table {table} select * from rows_of_every_date")
