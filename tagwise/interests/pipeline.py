"""The interests step of a run as of D (SPEC 3.10), beside the churn model's.

Fits the interests model as of D (features as of D - H, labels in (D - H, D], and the
same season a year earlier when the data reaches back), ranks each customer's candidate
categories on features as of D and keeps the top `TOP_K` with their drivers in
model.category_propensity (replaced); measures a fit of D - H on the window (D - H, D]
against the baselines and stores it in model.propensity_quality (one row per as-of
date). Nothing after D is read, and people who objected to profiling are neither fitted
nor ranked (features.purchases_sql). Whether the fit may feed tags is the quality's
verdict (ahead of popularity beyond chance): dbt reads it (int_model__propensity_status)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from tagwise.interests.evaluate import (
    MODEL,
    OWN_HISTORY,
    POPULARITY,
    InterestQuality,
    evaluate_pairs,
)
from tagwise.interests.features import (
    HORIZON_DAYS,
    Pairs,
    Window,
    load_purchases,
    read_purchases,
)
from tagwise.interests.fitting import NothingToLearn, drivers, fit, predict
from tagwise.model.pipeline import date_literal, replace_rows_of_date
from tagwise.relations import source
from tagwise.spark import SparkSettings, session
from tagwise.warehouse import connect

TOP_K = 10  # categories kept per customer (SPEC 3.10's K)

PROPENSITY_COLUMNS = (
    "customer_key",
    "category",
    "probability",
    "rank",
    "is_new_to_customer",
    "top_drivers",
    "model_version",
    "as_of_date",
)


@dataclass(frozen=True)
class PropensityQuality:
    """A row of model.propensity_quality (its columns are declared in the model source)."""

    as_of_date: date
    fitted_at: datetime
    horizon_days: int
    training_cutoff: date
    year_earlier_cutoff: date | None
    scoring_cutoff: date
    customers: int | None
    new_buyers: int | None
    pairs: int | None
    auc: float | None
    brier: float | None
    calibration: str | None  # JSON: [{low, high, pairs, predicted, observed}]
    model_hit_rate_new_at_3: float | None
    popularity_hit_rate_new_at_3: float | None
    model_precision_at_3: float | None
    popularity_precision_at_3: float | None
    own_history_precision_at_3: float | None
    is_usable: bool
    note: str

    def row(self) -> tuple:
        return dataclasses.astuple(self)


@dataclass(frozen=True)
class InterestsRun:
    as_of: date
    customers: int
    rows: int
    model_version: str | None
    quality: PropensityQuality


def interests(
    purchases: pa.Table, as_of: date, horizon: int = HORIZON_DAYS
) -> tuple[pd.DataFrame, PropensityQuality]:
    """Each customer's top `TOP_K` categories as of D with their drivers (none when the
    window before D has nothing to learn from), and the quality of D. Nothing after D is
    read. The pairs of D - H are both what the fit of D learns from and what the fit of
    D - H is scored on: they are computed once (features.Pairs)."""
    fitted_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with duckdb.connect() as con:
        load_purchases(con, purchases, as_of)
        pairs = Pairs(con)
        try:
            quality = _quality_row(evaluate_pairs(pairs, as_of, horizon), fitted_at)
        except NothingToLearn as reason:
            scoring = as_of - timedelta(days=horizon)
            empty = (None,) * 11
            quality = PropensityQuality(
                as_of, fitted_at, horizon, scoring - timedelta(days=horizon), None, scoring,
                *empty,
                False, f"withheld: nothing measured as of {scoring}: {reason}",
            )  # fmt: skip
        try:
            training, windows = pairs.training(as_of, horizon)
            model = fit(training, pairs.sees_a_full_lookback(windows[0]))
            del training
            pairs.keep_only()
        except NothingToLearn:
            return pd.DataFrame(columns=list(PROPENSITY_COLUMNS)), quality
        version = _version(model)
        ranked = [_top(model, batch) for batch in pairs.to_rank(Window(as_of, horizon))]
    top = pd.concat(ranked, ignore_index=True)
    top["model_version"] = version
    top["as_of_date"] = as_of
    return top[list(PROPENSITY_COLUMNS)], quality


def _top(model, pairs: pd.DataFrame) -> pd.DataFrame:
    """The batch's customers' `TOP_K` most probable categories, best first, with drivers.
    Ranked on the keys alone: the pairs' features are copied for the kept rows only."""
    ranked = pairs[["customer_key", "category"]].assign(probability=predict(model, pairs))
    ranked = ranked.sort_values(
        ["customer_key", "probability", "category"], ascending=[True, False, True]
    )
    ranked["rank"] = ranked.groupby("customer_key").cumcount() + 1
    kept = ranked[ranked["rank"] <= TOP_K]
    top = pairs.loc[kept.index].assign(probability=kept["probability"], rank=kept["rank"])
    top = top.reset_index(drop=True)
    # The columns kept, the sentences as Arrow text: every customer's rows add up.
    top["top_drivers"] = pd.array(drivers(model, top), dtype=pd.StringDtype("pyarrow"))
    return top[[c for c in PROPENSITY_COLUMNS if c in top.columns]]


def _quality_row(quality: InterestQuality, fitted_at: datetime) -> PropensityQuality:
    model, popular = quality.ranking(MODEL), quality.ranking(POPULARITY)
    return PropensityQuality(
        quality.as_of,
        fitted_at,
        quality.horizon,
        quality.training_cutoff,
        quality.year_earlier_cutoff,
        quality.scoring_cutoff,
        quality.customers,
        quality.new_buyers,
        quality.pairs,
        quality.auc,
        quality.brier,
        json.dumps([dataclasses.asdict(b) for b in quality.calibration]),
        model.hit_rate_new_at_3,
        popular.hit_rate_new_at_3,
        model.precision_at_3,
        popular.precision_at_3,
        quality.ranking(OWN_HISTORY).precision_at_3,
        quality.usable,
        quality.verdict,
    )


def _version(model) -> str:
    """Names the fitted model: the same data and settings give the same version."""
    digest = hashlib.sha256()
    for booster in (model.repeat, model.discovery):
        digest.update(booster.model_to_string().encode() if booster else b"prior alone")
    # To 9 digits: the Platt scaling's last bits follow DuckDB's parallel float sums.
    digest.update(f"{model.slope:.9g} {model.intercept:.9g}".encode())
    return f"interests-lightgbm-{digest.hexdigest()[:12]}"


def predict_interests(
    warehouse: Path, as_of: date, target: str = "duckdb", horizon: int = HORIZON_DAYS
) -> InterestsRun:
    """Fit as of D, replace the propensities and store the quality of D, in the target's
    warehouse."""
    ranked, quality = interests(read_purchases(warehouse, target), as_of, horizon)
    write = _write_spark if target == "spark" else _write_duckdb
    write(warehouse, as_of, ranked, quality)
    return InterestsRun(
        as_of,
        ranked["customer_key"].nunique(),
        len(ranked),
        ranked["model_version"].iloc[0] if len(ranked) else None,
        quality,
    )


def _arrow(ranked: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(ranked, preserve_index=False).cast(
        pa.schema(
            [
                ("customer_key", pa.string()),
                ("category", pa.string()),
                ("probability", pa.float64()),
                ("rank", pa.int32()),
                ("is_new_to_customer", pa.bool_()),
                ("top_drivers", pa.string()),
                ("model_version", pa.string()),
                ("as_of_date", pa.date32()),
            ]
        )
    )


def _write_duckdb(
    warehouse: Path, as_of: date, ranked: pd.DataFrame, quality: PropensityQuality
) -> None:
    propensity = source("model", "category_propensity")
    quality_table = source("model", "propensity_quality")
    columns = ", ".join(PROPENSITY_COLUMNS)
    with connect(warehouse) as con:
        con.register("propensity_rows", _arrow(ranked))
        con.execute("begin transaction")
        con.execute(f"delete from {propensity}")
        con.execute(f"insert into {propensity} ({columns}) select {columns} from propensity_rows")
        con.execute(f"delete from {quality_table} where as_of_date = ?", [as_of])
        con.execute(
            f"insert into {quality_table} values ({', '.join('?' * len(quality.row()))})",
            quality.row(),
        )
        con.execute("commit")


def _write_spark(
    warehouse: Path, as_of: date, ranked: pd.DataFrame, quality: PropensityQuality
) -> None:
    spark = session(SparkSettings.for_warehouse(warehouse))
    propensity = source("model", "category_propensity")
    if len(ranked):
        spark.createDataFrame(_arrow(ranked).to_pandas()).createOrReplaceTempView("propensity")
        spark.sql(
            f"insert overwrite table {propensity} "
            f"select {', '.join(PROPENSITY_COLUMNS)} from propensity"
        )
    else:
        spark.sql(f"truncate table {propensity}")
    replace_rows_of_date(
        spark, source("model", "propensity_quality"), date_literal(as_of), [quality.row()]
    )
