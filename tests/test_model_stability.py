"""Ten consecutive daily runs of the model step on nearly the same data: each starts from
the day before's fit and moves less than the bounds the release warns beyond (vars
model_parameter_change_bound and model_segment_clv_change_bound of dbt_project.yml, which
marts.model_daily_changes applies)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tagwise.dbt_project import project_var
from tagwise.model.pipeline import predict
from tagwise.relations import create_source_tables_sql, ref, source

FIRST_DAY = date(2026, 6, 21)
DAYS = 10
PARAMETER_CHANGE_BOUND = float(project_var("model_parameter_change_bound"))
SEGMENT_CLV_CHANGE_BOUND = float(project_var("model_segment_clv_change_bound"))
FITTED = ("bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b")
FITTED += ("gamma_gamma_p", "gamma_gamma_q", "gamma_gamma_gamma")


def purchases(customers: int, rng: np.random.Generator, days: int = 740) -> list[tuple]:
    """Dated orders drawn from the BG/NBD and Gamma-Gamma stories (r 0.5, alpha 56 days,
    a 0.8, b 3; p 4, q 6, gamma 150), first orders spread over two years before the last
    day; the last ten days are the ten runs' new data."""
    start = FIRST_DAY + timedelta(days=DAYS - days)
    first = rng.integers(0, days, customers)
    daily_rate = rng.gamma(0.5, 1 / 8, customers) / 7
    dropout = rng.beta(0.8, 3, customers)
    order_rate = rng.gamma(6, 1 / 150, customers)
    rows = []
    for customer in range(customers):
        day = int(first[customer])
        while day < days:
            amount = round(float(rng.gamma(4, 1 / order_rate[customer])), 2)
            rows.append((f"C{customer:05d}", start + timedelta(days=day), amount))
            if rng.random() < dropout[customer]:
                break
            day += max(1, int(np.ceil(rng.exponential(1 / daily_rate[customer]))))
    return rows


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The model's inputs as dbt leaves them, and its own tables."""
    path = tmp_path_factory.mktemp("stability") / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        for statement in create_source_tables_sql("model"):
            con.execute(statement)
        orders, objections = ref("int_orders__completed"), ref("int_privacy__profiling_objections")
        for relation in (orders, objections):
            con.execute(f"create schema if not exists {relation.split('.')[0]}")
        con.execute(
            f"create table {orders} (customer_key varchar, ordered_on date, revenue decimal(18, 2))"
        )
        con.execute(f"create table {objections} (customer_key varchar)")
        con.executemany(
            f"insert into {orders} values (?, ?, ?)", purchases(5_000, np.random.default_rng(3))
        )
    return path


def relative_changes(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: abs(after[name] - value) / abs(value) for name, value in before.items()}


def segment(x: np.ndarray) -> np.ndarray:
    """One-time, occasional (1 or 2 repeat days) and frequent buyers."""
    return np.where(x == 0, "one-time", np.where(x < 3, "occasional", "frequent"))


@pytest.fixture(scope="module")
def daily_runs(warehouse):
    """Per day: the note, the fitted parameters and each segment's mean predicted CLV."""
    runs = []
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        run = predict(warehouse, day)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                f"select p.predicted_clv_365d, count(distinct o.ordered_on) - 1 "
                f"from {source('model', 'customer_predictions')} p "
                f"join {ref('int_orders__completed')} o using (customer_key) "
                "where o.ordered_on <= ? group by all",
                [day],
            ).fetchall()
        clv, x = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
        groups = segment(x)
        means = {name: float(clv[groups == name].mean()) for name in np.unique(groups)}
        runs.append((day, run.note, {name: run.parameters[name] for name in FITTED}, means))
    return runs


def test_each_day_starts_from_the_fit_of_the_day_before(daily_runs):
    (_, first_note, *_) = daily_runs[0]
    assert "from the fit of" not in first_note
    for (previous, *_), (day, note, *_) in itertools.pairwise(daily_runs):
        assert f"BG/NBD and Gamma-Gamma from the fit of {previous}" in note, (day, note)
        assert "not used" not in note


def test_parameters_and_segment_clv_move_less_than_the_bounds_from_day_to_day(daily_runs):
    parameter_moves, clv_moves = [], []
    for (_, _, before, before_clv), (_, _, after, after_clv) in itertools.pairwise(daily_runs):
        parameter_moves.append(max(relative_changes(before, after).values()))
        clv_moves.append(max(relative_changes(before_clv, after_clv).values()))
    print(f"largest daily moves: parameters {max(parameter_moves):.4f}, CLV {max(clv_moves):.4f}")
    assert len(parameter_moves) == DAYS - 1
    assert max(parameter_moves) < PARAMETER_CHANGE_BOUND
    assert max(clv_moves) < SEGMENT_CLV_CHANGE_BOUND
    # The data did change: a fit that ignored it would pass the bounds too.
    assert min(parameter_moves) > 0 and min(clv_moves) > 0


def test_a_rerun_of_a_day_starts_where_that_day_did(warehouse, daily_runs):
    last_day, last_note, parameters, _ = daily_runs[-1]
    rerun = predict(warehouse, last_day)
    assert rerun.note == last_note
    assert {name: rerun.parameters[name] for name in FITTED} == parameters


def test_a_gamma_gamma_fit_clv_did_not_use_is_no_place_to_start():
    from tagwise.model.fitting import GammaGamma
    from tagwise.model.pipeline import GAMMA_GAMMA_MAX_PARAMETER, WarmStart

    day = FIRST_DAY
    values = {"bgnbd_r": 0.3, "bgnbd_alpha": 7.0, "bgnbd_a": 0.9, "bgnbd_b": 4.8}
    values |= {"gamma_gamma_p": GAMMA_GAMMA_MAX_PARAMETER * 2, "gamma_gamma_q": 3.0}
    values |= {"gamma_gamma_gamma": 15.0, "mean_order_value": None, "gamma_gamma_used": 0.0}
    start = WarmStart.from_rows([(day, name, value) for name, value in values.items()])
    assert start.bgnbd.b == 4.8 and start.gamma_gamma is None
    assert start.note() == f", BG/NBD from the fit of {day}"
    used = values | {"gamma_gamma_p": 2.0, "gamma_gamma_used": 1.0}
    start = WarmStart.from_rows([(day, name, value) for name, value in used.items()])
    assert start.gamma_gamma == GammaGamma(2.0, 3.0, 15.0)
    assert WarmStart.from_rows([]) is None
    nothing = WarmStart.from_rows([(day, "none", None)])
    assert (nothing.bgnbd, nothing.gamma_gamma, nothing.note()) == (None, None, "")
