"""How good the interests model is as of D, set beside two baselines anyone can recompute.

The model is fitted as of S = D - H (features as of S - H, labels in (S - H, S], and the
same season a year earlier when the data reaches back: features.training_windows) and
scored on features as of S against what was bought in (S, D]: the latest window it can
score without reading past D. Two rankings a user can recompute by hand stand beside it:
category popularity (distinct buyers in the 90 days to S) and the customer's own
category history (orders in the 365 days to S). Measured on the customers who bought in
the 365 days to S:

- hit rate at 3 on new categories: of the customers who bought a category new to them
  (none in the 365 days to S) in the window, the share whose top 3 new categories hold
  one they bought (the customer's own history cannot rank a category new to them);
- precision at 3: the share of each customer's top 3 categories they bought, averaged;
- the model's AUC and Brier score over its candidate pairs, and a calibration table.

A fit whose hit rate on new categories is not ahead of popularity's beyond chance (the
lower end of the 95% interval of the paired difference is not above 0) is not usable: what it
predicts is withheld.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from scipy.stats import rankdata

from tagwise.interests.features import (
    HORIZON_DAYS,
    LOOKBACK_DAYS,
    POPULAR_DAYS,
    PURCHASES,
    SCOPE,
    Pairs,
    Window,
    load_purchases,
    read_purchases,
)
from tagwise.interests.fitting import drivers, fit, predict

MODEL, POPULARITY, OWN_HISTORY = "model", "popularity", "own history"
CALIBRATION_BINS = 10
EXAMPLES = 10


@dataclass(frozen=True)
class Ranking:
    name: str
    hit_rate_new_at_3: float | None
    precision_at_3: float


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    pairs: int
    predicted: float
    observed: float


@dataclass(frozen=True)
class Example:
    customer_key: str
    category: str
    probability: float
    bought: bool
    drivers: str


@dataclass(frozen=True)
class InterestQuality:
    as_of: date
    horizon: int
    training_cutoff: date
    # The same season a year earlier, when the fit also learned from it.
    year_earlier_cutoff: date | None
    scoring_cutoff: date
    customers: int
    new_buyers: int
    pairs: int
    auc: float
    brier: float
    calibration: list[CalibrationBin]
    rankings: list[Ranking]
    examples: list[Example]
    # The model's hit rate on new categories less popularity's, per new buyer paired, and
    # the lower end of its 95% interval: "beats" means beyond what chance would give.
    lead_over_popularity: float = 0.0
    lead_lower_bound: float = 0.0

    def ranking(self, name: str) -> Ranking:
        return next(r for r in self.rankings if r.name == name)

    @property
    def usable(self) -> bool:
        """The model beats popularity on new categories beyond chance. A lead within the
        noise would flip from one day to the next (on generated data, 1.08x popularity one
        day and 0.98x the next), and every likely-* tag with it."""
        return self.lead_lower_bound > 0

    @property
    def verdict(self) -> str:
        if not self.new_buyers:
            return (
                f"withheld: nothing to measure: no customer bought a category new to them "
                f"from {self.scoring_cutoff} to {self.as_of}"
            )
        model, popular = self.ranking(MODEL), self.ranking(POPULARITY)
        margin = (
            model.hit_rate_new_at_3 / popular.hit_rate_new_at_3 if popular.hit_rate_new_at_3 else 0
        )
        figures = (
            f"hit rate at 3 on new categories {model.hit_rate_new_at_3:.3f}, {margin:.2f}x "
            f"popularity's {popular.hit_rate_new_at_3:.3f} (lead {self.lead_over_popularity:+.3f}, "
            f"95% lower bound {self.lead_lower_bound:+.3f})"
        )
        if self.usable:
            return f"usable: {figures}"
        return f"withheld: not ahead of popularity beyond chance: {figures}"

    def as_json(self) -> str:
        return json.dumps(
            asdict(self) | {"usable": self.usable, "verdict": self.verdict}, default=str, indent=1
        )


def evaluate_purchases(
    purchases: pa.Table, as_of: date, horizon: int = HORIZON_DAYS
) -> InterestQuality:
    """The quality as of D of a fit on these purchases; nothing after D is read."""
    with duckdb.connect() as con:
        load_purchases(con, purchases, as_of)
        return evaluate_pairs(Pairs(con), as_of, horizon)


def evaluate_pairs(pairs: Pairs, as_of: date, horizon: int) -> InterestQuality:
    """The quality as of D of a fit as of D - H (features.training_windows) scored on the
    pairs of D - H against the purchases up to D, loaded in the pairs' connection
    (features.load_purchases)."""
    con = pairs.con
    scoring = Window(as_of - timedelta(days=horizon), horizon)
    training_rows, windows = pairs.training(scoring.cutoff, horizon)
    scoring_rows = pairs.of(scoring)
    pairs.sample()  # measured on the customers of the sample, every ranking alike
    model = fit(training_rows, pairs.sees_a_full_lookback(windows[0]))
    del training_rows
    pairs.keep_only(scoring)  # what the fit as of D learns from too
    scored = scoring_rows.copy()
    scored["probability"] = predict(model, scored)
    con.register(
        "scored", scored[["customer_key", "category", "is_new_to_customer", "probability"]]
    )
    rankings, lead, lead_error = _rankings(con, scoring)
    counts = con.execute(_COUNTS_SQL, _window_parameters(scoring)).fetchall()[0]
    con.unregister("scored")
    labels = scored["label"].to_numpy(dtype=bool)
    probabilities = scored["probability"].to_numpy()
    newest = scored[scored["is_new_to_customer"]].nlargest(EXAMPLES, "probability")
    examples = [
        Example(row.customer_key, row.category, float(row.probability), bool(row.label), text)
        for row, text in zip(newest.itertuples(index=False), drivers(model, newest), strict=True)
    ]
    return InterestQuality(
        as_of=as_of,
        horizon=horizon,
        training_cutoff=windows[0].cutoff,
        year_earlier_cutoff=windows[1].cutoff if len(windows) > 1 else None,
        scoring_cutoff=scoring.cutoff,
        customers=counts[0],
        new_buyers=counts[1],
        pairs=len(scored),
        auc=_auc(labels, probabilities),
        brier=float(np.mean((probabilities - labels) ** 2)),
        calibration=_calibration(labels, probabilities),
        rankings=rankings,
        examples=examples,
        lead_over_popularity=lead,
        lead_lower_bound=lead - 1.96 * lead_error,
    )


def evaluate(
    warehouse: Path, as_of: date, out: Path, horizon: int = HORIZON_DAYS, target: str = "duckdb"
) -> tuple[InterestQuality, tuple[Path, Path]]:
    """Evaluate on the latest build's purchases; writes the HTML report and the figures as
    JSON under `out`."""
    quality = evaluate_purchases(read_purchases(warehouse, target), as_of, horizon)
    out.mkdir(parents=True, exist_ok=True)
    report, figures = out / f"interests-{as_of}.html", out / f"interests-{as_of}.json"
    report.write_text(report_html(quality), encoding="utf-8")
    figures.write_text(quality.as_json() + "\n", encoding="utf-8")
    return quality, (report, figures)


def _window_parameters(window: Window) -> dict:
    return {"cutoff": window.cutoff, "end": window.end}


# The customers measured and what they bought, for every ranking alike.
_MEASURED = f"""
history as (
    select customer_key, category, count(distinct order_id) as orders, max(day) as last_day
    from {PURCHASES}
    where day <= $cutoff and day > $cutoff - {LOOKBACK_DAYS}
        and customer_key in (select customer_key from {SCOPE})
    group by customer_key, category
),

outcomes as (
    select distinct customer_key, category from {PURCHASES}
    where day > $cutoff and day <= $end
),

customers as (select distinct customer_key from history),

new_buyers as (
    select distinct outcomes.customer_key
    from outcomes
    inner join customers on outcomes.customer_key = customers.customer_key
    where not exists (
        select 1 from history
        where history.customer_key = outcomes.customer_key
            and history.category = outcomes.category
    )
)"""

_COUNTS_SQL = f"""
with {_MEASURED}
select (select count(*) from customers), (select count(*) from new_buyers)
"""

# Each ranking's candidates with a score: higher first; ties by category name.
_RANKED = f"""
popular as (
    select category, count(distinct customer_key) as buyers from {PURCHASES}
    where day > $cutoff - {POPULAR_DAYS} and day <= $cutoff
    group by category
    order by buyers desc, category
    limit 100
),

ranked as (
    select
        '{MODEL}' as ranking, customer_key, category, is_new_to_customer as is_new,
        probability as score
    from scored
    union all
    select
        '{POPULARITY}',
        customers.customer_key,
        popular.category,
        history.customer_key is null,
        popular.buyers
    from customers
    cross join popular
    left join history
        on customers.customer_key = history.customer_key
        and popular.category = history.category
    union all
    -- The customer's most ordered categories; of equal orders, the latest bought.
    select '{OWN_HISTORY}', customer_key, category, false, orders + epoch(last_day) / 1e10
    from history
),

top_new as (
    select * from (
        select
            *,
            row_number() over (
                partition by ranking, customer_key order by score desc, category
            ) as position
        from ranked where is_new
    )
    where position <= 3
),

top_all as (
    select * from (
        select
            *,
            row_number() over (
                partition by ranking, customer_key order by score desc, category
            ) as position
        from ranked
    )
    where position <= 3
),

hit as (
    select top_new.ranking, top_new.customer_key, bool_or(outcomes.category is not null) as hit
    from top_new
    left join outcomes
        on top_new.customer_key = outcomes.customer_key
        and top_new.category = outcomes.category
    group by top_new.ranking, top_new.customer_key
),

precision as (
    select top_all.ranking, top_all.customer_key, count(outcomes.category) / 3 as precision
    from top_all
    left join outcomes
        on top_all.customer_key = outcomes.customer_key
        and top_all.category = outcomes.category
    group by top_all.ranking, top_all.customer_key
),

names as (select unnest(['{MODEL}', '{POPULARITY}', '{OWN_HISTORY}']) as ranking)"""


# Per new buyer: 1 when the model's top 3 new categories hold one they bought and
# popularity's do not, -1 the other way round, 0 when both or neither do.
_PAIRED = f"""
paired as (
    select
        coalesce(model_hit.hit, false)::int - coalesce(popular_hit.hit, false)::int as difference
    from new_buyers
    left join hit as model_hit
        on new_buyers.customer_key = model_hit.customer_key and model_hit.ranking = '{MODEL}'
    left join hit as popular_hit
        on new_buyers.customer_key = popular_hit.customer_key
        and popular_hit.ranking = '{POPULARITY}'
)"""


def _rankings(con: duckdb.DuckDBPyConnection, window: Window) -> tuple[list[Ranking], float, float]:
    """Each ranking's figures, and the model's lead over popularity on new categories
    with its standard error (one pass over the rankings for both)."""
    rows = con.execute(
        f"""
        with {_MEASURED}, {_RANKED}, {_PAIRED},
        lead as (
            select
                coalesce(avg(difference), 0) as lead,
                coalesce(stddev_samp(difference) / sqrt(count(*)), 0) as lead_error
            from paired
        )
        select
            names.ranking,
            (select coalesce(avg(coalesce(hit.hit, false)::int), 0)
                from new_buyers
                left join hit
                    on hit.customer_key = new_buyers.customer_key
                    and hit.ranking = names.ranking),
            (select coalesce(avg(coalesce(precision.precision, 0)), 0)
                from customers
                left join precision
                    on precision.customer_key = customers.customer_key
                    and precision.ranking = names.ranking),
            lead.lead,
            lead.lead_error
        from names
        cross join lead
        """,
        _window_parameters(window),
    ).fetchall()
    rankings = [
        Ranking(name, None if name == OWN_HISTORY else float(hit), float(precision))
        for name, hit, precision, _, _ in rows
    ]
    return rankings, float(rows[0][3]), float(rows[0][4])


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """The probability that a bought pair scores above one not bought (ties count half)."""
    positives, negatives = labels.sum(), (~labels).sum()
    if not positives or not negatives:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _calibration(labels: np.ndarray, probabilities: np.ndarray) -> list[CalibrationBin]:
    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    bins = np.clip(np.digitize(probabilities, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    return [
        CalibrationBin(
            float(edges[b]),
            float(edges[b + 1]),
            int((bins == b).sum()),
            float(probabilities[bins == b].mean()),
            float(labels[bins == b].mean()),
        )
        for b in range(CALIBRATION_BINS)
        if (bins == b).any()
    ]


def report_html(quality: InterestQuality) -> str:
    """The page: the verdict, the rankings side by side, the calibration plot and the
    model's most confident new categories with their drivers; plotly inlined, so it opens
    offline."""
    import plotly.graph_objects as go

    names = [r.name for r in quality.rankings]
    compared = go.Figure(
        [
            go.Bar(
                name="hit rate at 3, new categories",
                x=names,
                y=[r.hit_rate_new_at_3 for r in quality.rankings],
            ),
            go.Bar(name="precision at 3", x=names, y=[r.precision_at_3 for r in quality.rankings]),
        ]
    )
    compared.update_layout(
        title="The model beside the baselines (higher is better)",
        barmode="group",
        yaxis_range=[0, 1],
        template="plotly_white",
        width=800,
        height=420,
    )
    calibration = go.Figure(
        [
            go.Scatter(
                x=[0, 1], y=[0, 1], name="perfectly calibrated", line={"dash": "dot"}, mode="lines"
            ),
            go.Scatter(
                x=[b.predicted for b in quality.calibration],
                y=[b.observed for b in quality.calibration],
                name="model",
                mode="lines+markers",
                text=[f"{b.pairs:,} pairs" for b in quality.calibration],
            ),
        ]
    )
    calibration.update_layout(
        title="Calibration: predicted probability against the share bought",
        xaxis_title="mean predicted probability (bin)",
        yaxis_title="share of pairs bought in the window",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1],
        template="plotly_white",
        width=800,
        height=450,
    )
    facts = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(value)}</td></tr>"
        for label, value in (
            ("as of", str(quality.as_of)),
            ("horizon", f"{quality.horizon} days"),
            (
                "fitted on",
                f"features as of {quality.training_cutoff}, purchases to {quality.scoring_cutoff}"
                + (
                    f"; and the same season a year earlier, features as of "
                    f"{quality.year_earlier_cutoff}"
                    if quality.year_earlier_cutoff
                    else ""
                ),
            ),
            ("scored on", f"features as of {quality.scoring_cutoff}, purchases to {quality.as_of}"),
            (
                "customers measured",
                f"{quality.customers:,} ({quality.new_buyers:,} bought a new category)",
            ),
            ("candidate pairs", f"{quality.pairs:,}"),
            ("AUC", f"{quality.auc:.3f}"),
            ("Brier score", f"{quality.brier:.4f}"),
        )
    )
    rankings = "".join(
        f"<tr><td>{html.escape(r.name)}</td><td>{_figure(r.hit_rate_new_at_3)}</td>"
        f"<td>{_figure(r.precision_at_3)}</td></tr>"
        for r in quality.rankings
    )
    examples = "".join(
        f"<tr><td>{html.escape(e.customer_key)}</td><td>{html.escape(e.category)}</td>"
        f"<td>{e.probability:.2f}</td><td>{'yes' if e.bought else 'no'}</td>"
        f"<td>{html.escape(e.drivers)}</td></tr>"
        for e in quality.examples
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tagwise: predicted interests as of {quality.as_of}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}td,th{{padding:.2em .8em;text-align:left}}</style>
</head><body>
<h1>Predicted interests as of {quality.as_of}</h1>
<p id="verdict"><strong>{html.escape(quality.verdict)}</strong></p>
<table id="facts">{facts}</table>
<h2>Against the baselines</h2>
<table id="rankings"><tr><th>ranking</th><th>hit rate at 3, new categories</th><th>precision at 3</th></tr>{rankings}</table>
{compared.to_html(full_html=False, include_plotlyjs=True, div_id="baselines-chart")}
<h2>Calibration</h2>
{calibration.to_html(full_html=False, include_plotlyjs=False, div_id="calibration-chart")}
<h2>Most confident new categories, and why</h2>
<table id="examples"><tr><th>customer</th><th>category</th><th>probability</th><th>bought</th><th>drivers</th></tr>{examples}</table>
</body></html>
"""


def _figure(value: float | None) -> str:
    return "n/a (ranks only categories bought before)" if value is None else f"{value:.3f}"
