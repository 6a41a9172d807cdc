"""BG/NBD and Gamma-Gamma: the published CDNOW results, recovery of known parameters from
simulated data, and numerics at the extremes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tagwise.model import fitting
from tagwise.model.cdnow import CALIBRATION_END, load_cdnow
from tagwise.model.fitting import BgNbd, GammaGamma, NotEnoughData, fit_bgnbd, fit_gamma_gamma
from tagwise.model.pipeline import (
    GAMMA_GAMMA_MAX_PARAMETER,
    PopulationMeanOrderValue,
    order_value_model,
)
from tagwise.model.summary import summarize

CDNOW = Path(__file__).parent / "fixtures" / "cdnow" / "CDNOW_sample.txt"


def significant(value: float, digits: int = 2) -> float:
    return float(f"{value:.{digits - 1}e}")


@pytest.fixture(scope="module")
def cdnow():
    con = duckdb.connect()
    return summarize(con, load_cdnow(con, CDNOW), CALIBRATION_END)


def test_cdnow_calibration_has_the_papers_customers(cdnow):
    assert len(cdnow) == 2357
    assert int(np.sum(cdnow.x > 0)) == 946


def test_bgnbd_reproduces_fader_hardie_lee_on_cdnow(cdnow):
    fit = fit_bgnbd(cdnow.x, cdnow.t_x, cdnow.T)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert significant(getattr(fit, name)) == significant(value), name


def test_gamma_gamma_reproduces_the_published_fit_on_cdnow(cdnow):
    fit = fit_gamma_gamma(cdnow.x, cdnow.m)
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for name, value in published.items():
        assert significant(getattr(fit, name)) == significant(value), name


def simulate(truth: BgNbd, customers: int, rng: np.random.Generator):
    """Draw transaction histories from the BG/NBD story itself."""
    T = rng.uniform(20, 80, customers)
    rate = rng.gamma(truth.r, 1 / truth.alpha, customers)
    drop = rng.beta(truth.a, truth.b, customers)
    x, t_x = np.zeros(customers), np.zeros(customers)
    for i in range(customers):
        now = 0.0
        while True:
            now += rng.exponential(1 / rate[i])
            if now > T[i]:
                break
            x[i] += 1
            t_x[i] = now
            if rng.random() < drop[i]:
                break
    return x, t_x, T


def test_bgnbd_recovers_known_parameters_from_simulated_data():
    truth = BgNbd(r=0.6, alpha=4.0, a=0.9, b=3.0)
    x, t_x, T = simulate(truth, 20_000, np.random.default_rng(42))
    fit = fit_bgnbd(x, t_x, T)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit, name) == pytest.approx(getattr(truth, name), rel=0.15), name


def test_a_fit_on_two_threads_gives_the_same_floats_as_on_one(monkeypatch):
    rng = np.random.default_rng(5)
    customers = fitting.TWO_THREADS_FROM + 4_321
    x, t_x, T = simulate(BgNbd(r=0.6, alpha=4.0, a=0.9, b=3.0), customers, rng)
    m = rng.gamma(4.0, 10.0, customers)
    assert len(fitting.summed_parts((x,))) == 2
    two_threads = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)
    monkeypatch.setattr(fitting, "TWO_THREADS_FROM", customers + 1)
    assert len(fitting.summed_parts((x,))) == 1
    assert (fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)) == two_threads


def test_too_few_repeat_customers_is_a_clear_error():
    x = np.array([0] * 500 + [1] * 99, dtype=float)
    with pytest.raises(NotEnoughData, match="99 customers with a repeat purchase; at least 100"):
        fit_bgnbd(x, x, x + 10)
    with pytest.raises(NotEnoughData):
        fit_gamma_gamma(x, x * 20)


def test_no_overflow_for_customers_with_many_orders():
    model = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x = np.array([0.0, 1.0, 50.0, 500.0, 5000.0])
    t_x = np.array([0.0, 10.0, 70.0, 77.0, 77.9])
    T = np.full(5, 78.0)
    assert np.all(np.isfinite(model.log_likelihood(x, t_x, T)))
    alive = model.p_alive(x, t_x, T)
    assert alive[0] == 1.0 and np.all((alive >= 0) & (alive <= 1))
    expected = model.expected_purchases(52.0, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    assert expected[4] > expected[3] > expected[2]
    assert np.isfinite(
        GammaGamma(6.25, 3.74, 15.44).expected_value(np.array([5000.0]), np.array([30.0]))
    ).all()


def test_predictions_behave_as_the_model_says():
    model = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    # The longer since the last purchase, the less likely alive and the fewer purchases ahead.
    recent, stale = model.p_alive([3, 3], [38, 10], [39, 39])
    assert recent > stale
    near, far = model.expected_purchases(52, [3, 3], [38, 10], [39, 39])
    assert near > far
    # More time ahead, more purchases expected.
    assert (
        model.expected_purchases(104, [3], [38], [39])[0]
        > model.expected_purchases(52, [3], [38], [39])[0]
    )


def test_holdout_evaluation_on_cdnow_writes_a_report(tmp_path, browser):
    from tagwise.model.evaluate import evaluate_transactions

    con = duckdb.connect()
    result = evaluate_transactions(
        con, load_cdnow(con, CDNOW), CALIBRATION_END, date(1998, 6, 30), tmp_path
    )
    assert result.customers == 2357
    assert result.actual_total == 1882
    assert result.predicted_total == pytest.approx(result.actual_total, rel=0.15)
    assert result.correlation > 0.5
    report, per_customer = result.files
    # As a person sees it, offline: the chart is drawn, with its title, axes and legend.
    png = tmp_path / "holdout.png"
    page = browser.render(report, png)
    assert "Repeat purchases per week after 1997-09-30" in page
    assert "week of the holdout (week 1 starts the day after 1997-09-30)" in page
    assert "repeat purchases per week" in page and "a customer's day with an order" in page
    assert "predicted (BG/NBD)" in page and 'class="legend"' in page
    assert page.count('class="scatterlayer') == 1 and page.count('class="trace scatter') == 2
    # plotly's default colours: the actual line is blue, the predicted one red.
    assert browser.pixels_near(png, (99, 110, 250)) > 200
    assert browser.pixels_near(png, (239, 85, 59)) > 200
    assert len(per_customer.read_text().splitlines()) == 2357 + 1


def test_import_cdnow_lands_files_that_ingest_without_loss(tmp_path):
    from tagwise.ingest import ingest
    from tagwise.model.cdnow import write_landing

    written = write_landing(CDNOW, tmp_path / "landing")
    assert written == {"customers": 2357, "products": 1, "orders": 6919, "order_lines": 6919}
    loads = ingest(tmp_path / "landing", tmp_path / "w.duckdb")
    assert all(load.rows_quarantined == 0 and load.conserved for load in loads)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        total = con.execute("select sum(unit_price) from raw.order_lines").fetchone()[0]
    with duckdb.connect() as con:
        assert (
            total == con.execute(f"select sum(amount) from {load_cdnow(con, CDNOW)}").fetchone()[0]
        )


def test_import_cdnow_reads_the_master_layout_with_its_header(tmp_path):
    """The master file of the lifetimes wheel: a header line, four cells, CRLF endings."""
    from tagwise.model.cdnow import write_landing

    master = tmp_path / "CDNOW_master.txt"
    master.write_bytes(
        b" customer_id  date number_of_cds  dollar_value\r\n"
        b" 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n"
        b" 00002 19970112  5   77.00\r\n 00002 19970301  2   20.76\r\n"
    )
    written = write_landing(master, tmp_path / "landing")
    assert written == {"customers": 2, "products": 1, "orders": 4, "order_lines": 4}
    lines = (tmp_path / "landing" / "order_lines" / "order_lines.csv").read_text()
    assert "77.0" in lines and "20.76" in lines


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (" 00001 19970101  1\n", "line 1: expected the sample layout"),
        (" 00001 19970101  1  1.00\n 00002 0002 19970101 1 1.00\n", "line 2: expected the master"),
        (" 00001 19971301  1  1.00\n", "line 1: expected a date YYYYMMDD"),
        (" 00001 19970101  one  1.00\n", "found '19970101', 'one', '1.00'"),
        ("customer date cds value\n\n", "no purchase lines"),
    ],
)
def test_import_cdnow_refuses_other_layouts_naming_the_line(tmp_path, text, problem):
    from click.testing import CliRunner

    from tagwise.cli import main

    source = tmp_path / "odd.txt"
    source.write_text(text)
    result = CliRunner().invoke(main, ["import-cdnow", str(source), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert problem in result.output and "odd.txt" in result.output
    assert "Traceback" not in result.output


def test_a_gamma_gamma_fit_whose_p_and_q_run_off_is_replaced_by_the_population_mean():
    # Every customer's orders are worth about the same: no spread between customers for the
    # model to fit, so p and q grow without bound.
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 2_000).astype(float)
    m = 50 + rng.normal(0, 0.01, 2_000) / np.sqrt(x)
    fitted, used, note = order_value_model(x, m)
    assert max(fitted.p, fitted.q) > GAMMA_GAMMA_MAX_PARAMETER
    assert "Gamma-Gamma not used" in note and "above 1,000" in note
    assert used.expected_value(x, m) == pytest.approx(np.full(2_000, np.mean(m)))


def test_a_gamma_gamma_fit_is_not_used_when_order_value_grows_with_frequency():
    rng = np.random.default_rng(4)
    x = rng.integers(1, 10, 2_000).astype(float)
    m = rng.gamma(4.0, 5.0 * x)
    fitted, used, note = order_value_model(x, m)
    assert fitted.p < GAMMA_GAMMA_MAX_PARAMETER and fitted.q < GAMMA_GAMMA_MAX_PARAMETER
    assert "frequency and order value correlate at 0." in note
    assert isinstance(used, PopulationMeanOrderValue)


def test_the_gamma_gamma_fit_is_used_on_cdnow(cdnow):
    fitted, used, note = order_value_model(cdnow.x, cdnow.m)
    assert used is fitted and note == ""


def test_each_run_stores_the_rolling_holdout_evaluate_model_prints_on_cdnow(tmp_path, setting):
    from tagwise.dbt import DbtSettings, run_dbt
    from tagwise.ingest import ingest
    from tagwise.model.cdnow import write_landing
    from tagwise.model.evaluate import evaluate
    from tagwise.model.pipeline import UPSTREAM_OF_MODEL, predict

    warehouse, as_of = tmp_path / "w.duckdb", date(1998, 6, 30)
    write_landing(CDNOW, tmp_path / "landing")
    ingest(tmp_path / "landing", warehouse)
    upstream = f"{UPSTREAM_OF_MODEL} build_info"
    built = run_dbt(DbtSettings(warehouse, as_of), "run", select=upstream, quiet=True)
    assert built.success
    setting("TAGWISE_MODEL_HOLDOUT_WEEKS", "39")  # 1998-06-30 less 39 weeks: 1997-09-30
    predict(warehouse, as_of)
    printed = evaluate(warehouse, CALIBRATION_END, tmp_path / "model", as_of)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute(
            "select calibration_end, customers, predicted_purchases, actual_purchases,"
            " aggregate_ratio, mean_absolute_error, correlation from model.fit_quality"
            " where as_of_date = ?",
            [as_of],
        ).fetchall()
    assert stored == [
        (
            CALIBRATION_END,
            printed.customers,
            pytest.approx(printed.predicted_total, rel=1e-12),
            printed.actual_total,
            pytest.approx(printed.predicted_total / printed.actual_total, rel=1e-12),
            pytest.approx(printed.mean_absolute_error, rel=1e-12),
            pytest.approx(printed.correlation, rel=1e-12),
        )
    ]
    assert (printed.customers, printed.actual_total) == (2357, 1882)


def test_a_run_without_history_before_the_holdout_says_so_in_fit_quality():
    from datetime import UTC, datetime

    from tagwise.model.pipeline import fit_quality

    with duckdb.connect() as con:
        transactions = load_cdnow(con, CDNOW)
        quality = fit_quality(con, transactions, date(1997, 2, 1), datetime.now(UTC))
    assert quality.row()[3:9] == (None,) * 6 and quality.calibration_end == date(1996, 11, 2)
    assert quality.note.startswith("nothing evaluated: 0 customers with a repeat purchase")


def test_a_fit_without_finite_predictions_predicts_nothing_and_says_why(monkeypatch):
    # The BG/NBD fit of a 200-customer population with two years of history (`tagwise
    # bench --customers 200`): its expected purchases overflowed to NaN, and the run failed
    # writing them as decimals.
    from tagwise.model import pipeline
    from tagwise.model.summary import Summary

    degenerate = BgNbd(r=1.8276513490, alpha=12.540755069, a=118867.49837, b=6094291.6365)
    order_value = GammaGamma(p=1.378, q=6.279, gamma=704.07)
    monkeypatch.setattr(pipeline, "fit_bgnbd", lambda *arguments: degenerate)
    monkeypatch.setattr(
        pipeline, "order_value_model", lambda *arguments: (order_value, order_value, "")
    )
    summary = Summary(
        customer_key=np.array(["c1", "c2", "c3"]),
        x=np.array([16.0, 5.0, 0.0]),
        t_x=np.array([94.0, 64.571, 0.0]),
        T=np.array([94.286, 102.857, 50.0]),
        m=np.array([120.0, 80.0, 0.0]),
    )
    with np.errstate(invalid="ignore", over="ignore"):
        assert not np.all(
            np.isfinite(degenerate.expected_purchases(52, summary.x, summary.t_x, summary.T))
        )
    result = pipeline.fit(summary)
    assert result.predictions.num_rows == 0 and result.parameters == {}
    assert "a = 1.189e+05, b = 6.094e+06) gives no finite expected_orders_365d" in result.note
    assert result.parameter_rows(date(2026, 6, 30))[0][2] == "none"
