"""Holdout evaluation: fit on purchases up to a calibration end, compare with what followed.

Per customer (calibration customers: first purchase by the calibration end), predicted
against actual purchases in the holdout; in total; and week by week, as a chart of
predicted and actual repeat purchases: an HTML page with a plotly chart whose script is
inlined, so the page opens offline.
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np

from tagwise.model.accuracy import holdout_fit
from tagwise.model.fitting import BgNbd
from tagwise.model.pipeline import transactions_sql
from tagwise.relations import ref
from tagwise.warehouse import connect


@dataclass(frozen=True)
class Evaluation:
    calibration_end: date
    holdout_end: date
    customers: int
    predicted_total: float
    actual_total: int
    mean_absolute_error: float
    correlation: float
    model: BgNbd
    files: tuple[Path, ...]


def evaluate_transactions(
    con: duckdb.DuckDBPyConnection,
    transactions: str,
    calibration_end: date,
    holdout_end: date,
    out: Path,
) -> Evaluation:
    result = holdout_fit(con, transactions, calibration_end, holdout_end)
    summary = result.summary
    predicted, actual = result.predicted, result.actual
    out.mkdir(parents=True, exist_ok=True)
    per_customer = out / f"holdout-{calibration_end}-customers.csv"
    with per_customer.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["customer_key", "x", "t_x", "T", "predicted_purchases", "actual_purchases"]
        )
        for row in zip(
            summary.customer_key, summary.x, summary.t_x, summary.T, predicted, actual, strict=True
        ):
            writer.writerow(
                [
                    row[0],
                    int(row[1]),
                    f"{row[2]:.4f}",
                    f"{row[3]:.4f}",
                    f"{row[4]:.4f}",
                    int(row[5]),
                ]
            )
    evaluation = Evaluation(
        calibration_end,
        holdout_end,
        len(summary),
        result.predicted_total,
        result.actual_total,
        result.mean_absolute_error,
        result.correlation,
        result.model,
        (),
    )
    report = out / f"holdout-{calibration_end}.html"
    weekly = _report_html(evaluation, result.predicted_by_week(), result.actual_by_week.sum(axis=0))
    report.write_text(weekly, encoding="utf-8")
    return Evaluation(**{**evaluation.__dict__, "files": (report, per_customer)})


def evaluate(
    warehouse: Path, calibration_end: date, out: Path, holdout_end: date | None = None
) -> Evaluation:
    """Evaluate on the completed orders of a built warehouse (holdout up to its as-of date)."""
    with connect(warehouse, read_only=True) as con:
        built = con.execute(f"select as_of_date from {ref('build_info')}").fetchone()[0]
        con.execute(f"create or replace temp view model_transactions as {transactions_sql()}")
        return evaluate_transactions(
            con, "model_transactions", calibration_end, holdout_end or built, out
        )


def _weekly_chart(calibration_end: date, predicted: np.ndarray, actual: np.ndarray) -> str:
    """Predicted and actual repeat purchases per holdout week, as an HTML fragment."""
    import plotly.graph_objects as go

    weeks = np.arange(1, len(actual) + 1)
    figure = go.Figure(
        [
            go.Scatter(x=weeks, y=actual, name="actual", mode="lines+markers"),
            go.Scatter(x=weeks, y=predicted, name="predicted (BG/NBD)", line={"dash": "dash"}),
        ]
    )
    figure.update_layout(
        title={
            "text": f"Repeat purchases per week after {calibration_end}<br><sup>a purchase: "
            "a customer's day with an order; all calibration customers</sup>"
        },
        xaxis_title=f"week of the holdout (week 1 starts the day after {calibration_end})",
        yaxis_title="repeat purchases per week",
        yaxis_rangemode="tozero",
        template="plotly_white",
        width=900,
        height=450,
    )
    return figure.to_html(full_html=False, include_plotlyjs=True, div_id="weekly-chart")


def _report_html(evaluation: Evaluation, predicted: np.ndarray, actual: np.ndarray) -> str:
    m = evaluation.model
    rows = "".join(
        f"<tr><td>{label}</td><td>{html.escape(value)}</td></tr>"
        for label, value in (
            ("calibration end", str(evaluation.calibration_end)),
            ("holdout end", str(evaluation.holdout_end)),
            ("customers", f"{evaluation.customers:,}"),
            ("predicted purchases", f"{evaluation.predicted_total:,.1f}"),
            ("actual purchases", f"{evaluation.actual_total:,}"),
            ("mean absolute error per customer", f"{evaluation.mean_absolute_error:.3f}"),
            ("correlation per customer", f"{evaluation.correlation:.3f}"),
            ("BG/NBD r, alpha, a, b", f"{m.r:.4g}, {m.alpha:.4g}, {m.a:.4g}, {m.b:.4g}"),
        )
    )
    chart = _weekly_chart(evaluation.calibration_end, predicted, actual)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tagwise holdout evaluation</title>
<style>body{{font-family:sans-serif;margin:2em}}td{{padding:2px 12px}}</style></head>
<body><h1>Holdout evaluation of the purchase model</h1><table>{rows}</table>
{chart}
</body></html>
"""
