"""The interests model (SPEC 3.10, issue 43): fitted only on what was known by D, and set
beside the popularity and own-history baselines, on purchases crafted so that what
follows is known."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from tagwise.interests.evaluate import (
    MODEL,
    OWN_HISTORY,
    POPULARITY,
    evaluate_purchases,
    report_html,
)
from tagwise.interests.features import PURCHASES, Window, candidate_features, load_purchases
from tagwise.interests.fitting import drivers, fit, predict

AS_OF = date(2025, 12, 31)
CATEGORIES = [f"cat-{i:02}" for i in range(30)]
TRIGGER, PLANTED = 10, 25
EXPLORING = 0.05  # the share of orders with something besides the staples


def purchases(seed: int = 0, customers: int = 600, after: date | None = None) -> pa.Table:
    """Eighteen months of orders, so that the fits' training windows see a full lookback
    (a year) of history (fitting.fit's `learn_discovery`): each customer has 3 to 6
    staple categories and orders every 5 to
    20 days, 2 to 4 of them per order, popular ones more often, and now and then something
    else, popular ones more often. Planted: a buyer of cat-10 starts buying cat-25, a
    category few others buy, at some day of the year (then in most orders). With
    `after`, only random orders after that day."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(CATEGORIES) + 1)
    rows = []
    for c in range(customers):
        staples = list(
            rng.choice(
                len(CATEGORIES), rng.integers(3, 7), replace=False, p=weights / weights.sum()
            )
        )
        adopts = TRIGGER in staples and PLANTED not in staples and rng.random() < 0.9
        adoption = date(2025, 1, 1) + timedelta(days=int(rng.integers(30, 365)))
        day = (after or date(2024, 7, 1)) + timedelta(days=int(rng.integers(0, 20)))
        end = (after + timedelta(days=60)) if after else AS_OF
        order = 0
        while day <= end:
            bought = set(rng.choice(staples, min(len(staples), rng.integers(2, 5)), replace=False))
            if adopts and day >= adoption and rng.random() < 0.8:
                bought.add(PLANTED)
            if rng.random() < EXPLORING:
                bought.add(int(rng.choice(len(CATEGORIES), p=weights / weights.sum())))
            if after:
                bought = {int(rng.integers(len(CATEGORIES)))}
            for category in sorted(bought):
                rows.append(
                    (
                        f"k{c:04}",
                        f"o{c:04}-{order}{'-late' if after else ''}",
                        day,
                        CATEGORIES[category],
                        float(rng.integers(1, 50)),
                    )
                )
            order += 1
            day += timedelta(days=int(rng.integers(5, 21)))
    customer, order_id, day, category, amount = zip(*rows, strict=True)
    return pa.table(
        {
            "customer_key": pa.array(customer),
            "order_id": pa.array(order_id),
            "day": pa.array(day, pa.date32()),
            "category": pa.array(category),
            "amount": pa.array(amount),
        }
    )


@pytest.fixture(scope="module")
def quality():
    return evaluate_purchases(purchases(), AS_OF)


def test_nothing_after_d_is_read():
    """Rows after D, however different, change no figure of the fit as of D."""
    known = purchases()
    later = purchases(seed=7, after=AS_OF + timedelta(days=1))
    changed = pa.concat_tables([known, later])
    assert later.num_rows > 0
    assert figures(evaluate_purchases(changed, AS_OF)) == figures(evaluate_purchases(known, AS_OF))


def figures(quality) -> dict:
    """The quality's figures to 9 places: DuckDB sums floats in parallel, in an order that
    may differ in the last bit between two reads of different tables."""

    def rounded(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    return rounded(json.loads(quality.as_json()))


def test_the_fit_is_scored_on_the_window_before_d_and_fitted_on_the_one_before_it(quality):
    assert quality.scoring_cutoff == AS_OF - timedelta(days=90)
    assert quality.training_cutoff == AS_OF - timedelta(days=180)
    assert quality.customers == 600 and 0 < quality.new_buyers < 600


def test_a_planted_association_is_found_where_popularity_cannot_see_it(quality):
    """cat-25 follows cat-10: for buyers of cat-10 who have not bought cat-25, it is among
    the model's top 3 new categories for at least 80% of them, and among popularity's for
    none; its drivers name the association."""
    scoring = Window(AS_OF - timedelta(days=90))
    training = Window(scoring.cutoff - timedelta(days=90))
    with duckdb.connect() as con:
        load_purchases(con, purchases(), AS_OF)
        model = fit(candidate_features(con, training))
        scored = candidate_features(con, scoring, labelled=False)
        triggered = {
            key
            for (key,) in con.execute(
                f"select distinct customer_key from {PURCHASES} where category = ? and day <= ?",
                [CATEGORIES[TRIGGER], scoring.cutoff],
            ).fetchall()
        }
    scored["probability"] = predict(model, scored)
    new = scored[scored["is_new_to_customer"]]
    waiting = triggered & set(new.loc[new["category"] == CATEGORIES[PLANTED], "customer_key"])
    assert len(waiting) >= 10

    def share_with_target_in_top_3(score: str) -> float:
        top = new.sort_values(["customer_key", score], ascending=[True, False])
        top = top.groupby("customer_key").head(3)
        found = set(top.loc[top["category"] == CATEGORIES[PLANTED], "customer_key"])
        return len(waiting & found) / len(waiting)

    assert share_with_target_in_top_3("probability") >= 0.8
    assert share_with_target_in_top_3("popularity_90d") == 0
    model_rank, popular = quality.ranking(MODEL), quality.ranking(POPULARITY)
    assert model_rank.hit_rate_new_at_3 > popular.hit_rate_new_at_3
    assert quality.usable and quality.verdict.startswith("usable")
    assert quality.auc > 0.8
    # New categories alone (no pair for the repeat booster) are scored the same.
    assert np.allclose(predict(model, new), new["probability"])
    pairs = new[(new["category"] == CATEGORIES[PLANTED]) & new["customer_key"].isin(waiting)]
    explained = drivers(model, pairs)
    named = [_names_the_trigger(text) for text in explained]
    # 34 of 38 on this data: the other four name other inputs first.
    assert sum(named) >= 0.85 * len(named), explained


def test_own_history_ranks_no_new_category_and_every_ranking_is_measured_alike(quality):
    assert quality.ranking(OWN_HISTORY).hit_rate_new_at_3 is None
    assert all(0 < r.precision_at_3 <= 1 for r in quality.rankings)
    assert sum(b.pairs for b in quality.calibration) == quality.pairs


def test_a_fit_not_ahead_of_popularity_beyond_chance_is_withheld_and_says_why(quality):
    from dataclasses import replace

    from tagwise.interests.evaluate import Ranking

    worse = replace(
        quality,
        rankings=[
            Ranking(MODEL, 0.2, 0.5),
            Ranking(POPULARITY, 0.3, 0.4),
            Ranking(OWN_HISTORY, None, 0.6),
        ],
        lead_over_popularity=-0.1,
        lead_lower_bound=-0.15,
    )
    assert not worse.usable
    assert worse.verdict == (
        "withheld: not ahead of popularity beyond chance: hit rate at 3 on new categories "
        "0.200, 0.67x popularity's 0.300 (lead -0.100, 95% lower bound -0.150)"
    )
    # Ahead, but within the noise: a lead that would flip from one day to the next.
    noisy = replace(worse, lead_over_popularity=0.04, lead_lower_bound=-0.001)
    assert not noisy.usable and noisy.verdict.startswith("withheld")
    assert replace(worse, lead_lower_bound=0.001).usable
    # Nobody to measure on (a window after the data ends): nothing is claimed.
    nobody = replace(worse, new_buyers=0)
    assert not nobody.usable
    assert nobody.verdict == (
        "withheld: nothing to measure: no customer bought a category new to them from "
        f"{quality.scoring_cutoff} to {quality.as_of}"
    )


def test_the_report_shows_the_verdict_the_baselines_and_the_calibration(quality, tmp_path, browser):
    page = tmp_path / "interests.html"
    page.write_text(report_html(quality), encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    for section in (
        'id="verdict"',
        'id="rankings"',
        'id="baselines-chart"',
        'id="calibration-chart"',
        'id="examples"',
    ):
        assert section in text
    assert "<script src=" not in text  # plotly inlined: the page opens offline
    shown = browser.render(page, tmp_path / "interests.png")
    assert "Against the baselines" in shown and "Calibration" in shown
    # The bars drew (plotly's first colour): the inlined script ran without a network.
    assert browser.pixels_near(tmp_path / "interests.png", (99, 110, 250)) > 2_000


def test_evaluate_interests_refuses_a_missing_warehouse(tmp_path):
    from tagwise.cli import main

    result = CliRunner().invoke(
        main,
        [
            "evaluate-interests",
            "--warehouse",
            str(tmp_path / "none.duckdb"),
            "--as-of",
            "2025-12-31",
        ],
    )
    assert result.exit_code != 0 and "does not exist" in result.output
    assert not (tmp_path / "none.duckdb").exists()


@pytest.fixture(scope="module")
def ranked():
    from tagwise.interests.pipeline import interests

    return interests(purchases(), AS_OF)


def test_the_ranking_of_d_reads_nothing_after_d(ranked):
    """The run's step (SPEC 3.10): rows after D, however different, change neither the
    ranking nor its drivers nor the stored quality."""
    from tagwise.interests.pipeline import interests

    later = purchases(seed=7, after=AS_OF + timedelta(days=1))
    changed_rows, changed_quality = interests(pa.concat_tables([purchases(), later]), AS_OF)
    rows, quality = ranked
    assert later.num_rows > 0 and len(rows) > 0
    assert changed_rows.round(9).equals(rows.round(9))
    # All but the date and run time, to 9 places (DuckDB's parallel float sums).
    assert figures_of(changed_quality.row()[2:]) == figures_of(quality.row()[2:])


def figures_of(values: tuple) -> tuple:
    return tuple(round(v, 9) if isinstance(v, float) else v for v in values)


def test_the_ranking_keeps_ten_categories_a_customer_and_finds_the_planted_one(ranked):
    """Up to TOP_K categories per customer, best first; for buyers of cat-10 who have not
    bought cat-25 it is kept, among their top 3 new categories for at least 80% (their
    staples, bought in most orders, rank above any new one), and its drivers say why."""
    from tagwise.interests.pipeline import TOP_K

    rows, quality = ranked
    assert rows.groupby("customer_key")["rank"].max().max() == TOP_K
    assert (rows.groupby("customer_key")["rank"].min() == 1).all()
    assert quality.is_usable and quality.note.startswith("usable")
    assert quality.model_hit_rate_new_at_3 > quality.popularity_hit_rate_new_at_3
    assert len(json.loads(quality.calibration)) > 1
    new = rows[rows["is_new_to_customer"]].copy()
    new["new_rank"] = new.groupby("customer_key").cumcount() + 1
    waiting = new[new["category"] == CATEGORIES[PLANTED]]
    with duckdb.connect() as con:
        con.register("known", purchases())
        # Trigger buyers: cat-10 is one of their staples (an explorer's one order is not).
        triggered = {
            key
            for (key,) in con.execute(
                "select customer_key from known where category = ? and day <= ? "
                "and day > ? - 365 group by customer_key having count(*) >= 3",
                [CATEGORIES[TRIGGER], AS_OF, AS_OF],
            ).fetchall()
        }
        bought_planted = {
            key
            for (key,) in con.execute(
                "select distinct customer_key from known where category = ? and day <= ? "
                "and day > ? - 365",
                [CATEGORIES[PLANTED], AS_OF, AS_OF],
            ).fetchall()
        }
    expected = triggered - bought_planted
    assert len(expected) >= 5
    found = waiting[waiting["customer_key"].isin(expected) & (waiting["new_rank"] <= 3)]
    assert len(found) >= 0.8 * len(expected)
    assert found["top_drivers"].map(_names_the_trigger).mean() >= 0.9


def test_windows_short_of_a_full_lookback_rank_new_categories_by_the_prior_alone():
    """On one year of data the training window sees half a year where the scored one sees
    nine months, and "new" means less there: no discovery booster is learned from it, and
    new categories are ranked by the co-purchase prior (on The Complete Journey a booster
    fitted there lost to popularity, the prior did not)."""
    from tagwise.interests.features import Pairs
    from tagwise.interests.fitting import _prior

    one_year = purchases().filter(pc.field("day") >= date(2025, 1, 1))
    with duckdb.connect() as con:
        load_purchases(con, one_year, AS_OF)
        pairs = Pairs(con)
        training, windows = pairs.training(AS_OF, 90)
        assert not pairs.sees_a_full_lookback(windows[0])
        model = fit(training, pairs.sees_a_full_lookback(windows[0]))
        scored = candidate_features(con, Window(AS_OF), labelled=False)
    assert model.discovery is None
    new = scored[scored["is_new"]]
    probability = predict(model, new)
    assert np.array_equal(
        np.argsort(probability, kind="stable"), np.argsort(_prior(new), kind="stable")
    )
    assert 0 < probability.min() < probability.max() < 1
    with duckdb.connect() as con:
        load_purchases(con, purchases(), AS_OF)
        pairs = Pairs(con)
        assert pairs.sees_a_full_lookback(pairs.training(AS_OF, 90)[1][0])


def test_no_purchase_to_learn_from_ranks_nothing_and_withholds_with_the_reason():
    from tagwise.interests.pipeline import interests

    nothing = purchases().slice(0, 0)
    rows, quality = interests(nothing, AS_OF)
    assert len(rows) == 0 and not quality.is_usable
    assert quality.note.startswith(f"withheld: nothing measured as of {AS_OF - timedelta(days=90)}")


def _names_the_trigger(drivers: str) -> bool:
    """The drivers name the trigger category, what links the planted one to it: its
    buyers buy it, or it follows it."""
    trigger = CATEGORIES[TRIGGER]
    return (
        f"buyers of {trigger} buy it" in drivers
        or f"(such as {trigger}) buy it" in drivers
        or f"after {trigger} it is bought" in drivers
    )


GENERATED_AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def planted_sequence(tmp_path_factory):
    """Generated data with the seasonal sequence planted (sports-fitness in spring, then
    outdoor-camping in summer, for a quarter of the customers a year), ranked as of the
    end of June 2026."""
    from tagwise.generator import GenerateConfig, generate
    from tagwise.interests.pipeline import interests

    config = GenerateConfig(
        customers=3_000,
        seed=7,
        out=tmp_path_factory.mktemp("sequence") / "landing",
        planted_sequence=0.25,
    )
    generate(config, workers=1)
    bought = landing_purchases(config.out)
    return config, bought, interests(bought, GENERATED_AS_OF)


def landing_purchases(landing) -> pa.Table:
    """The completed purchases of a generated landing by category, customer ids as keys
    (no identity resolution: what the interests model reads, for a test of the model)."""
    with duckdb.connect() as con:
        return con.sql(
            f"""
            select orders.customer_id as customer_key, orders.order_id,
                cast(orders.ordered_at::timestamptz at time zone 'UTC' as date) as day,
                products.category, sum(lines.unit_price::double * lines.quantity::double) as amount
            from read_csv('{landing}/orders/*.csv', all_varchar=true) as orders
            join read_csv('{landing}/order_lines/*.csv', all_varchar=true) as lines using (order_id)
            join read_csv('{landing}/products/*.csv', all_varchar=true) as products using (product_id)
            where orders.status = 'completed' and try_cast(orders.ordered_at as timestamptz) is not null
                and try_cast(lines.unit_price as double) is not null
                and try_cast(lines.quantity as double) is not null
            group by all"""
        ).to_arrow_table()


def test_the_planted_spring_to_summer_sequence_is_recovered(planted_sequence):
    """Issue 43: of the planted trigger buyers of spring 2026 who have not bought the
    target since June began, at least 80% have it in their top 3 (their own staples
    included: 90% on this data), and the drivers of most name the trigger category (66%)."""
    from tagwise.generator import interests as planted
    from tagwise.generator.population import draw_population

    config, bought, (rows, _) = planted_sequence
    pop = draw_population(config.seed, 0, config.customers, 0, config.window)
    orders = planted.plant(pop, config.window, 0, config.planted_sequence)
    spring = (orders.product == planted.product_of(planted.TRIGGER)) & (
        orders.when >= int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    )
    buyers = {f"C{gid + 1}" for gid in pop.gid[orders.owner[spring]]}
    with duckdb.connect() as con:
        con.register("bought", bought)
        since_june = {
            key
            for (key,) in con.execute(
                "select distinct customer_key from bought where category = ? "
                "and day >= date '2026-06-01'",
                [planted.TARGET],
            ).fetchall()
        }
    waiting = buyers - since_june
    target = rows[rows["customer_key"].isin(waiting) & (rows["category"] == planted.TARGET)]
    top = target[target["rank"] <= 3]
    assert len(waiting) > 200
    assert len(top) >= 0.8 * len(waiting), (len(top), len(waiting))
    # (The first driver of most is the target's summer surge, which every customer sees.)
    assert top["top_drivers"].str.contains(planted.TRIGGER).mean() >= 0.6


def test_fits_read_a_fixed_sample_and_the_ranking_covers_everyone_in_batches(monkeypatch):
    """At any size: fits and their measurement read the pairs of at most FIT_CUSTOMERS
    customers, always the same ones, and every customer is ranked once, in batches."""
    from tagwise.interests import features
    from tagwise.interests.pipeline import interests

    monkeypatch.setattr(features, "FIT_CUSTOMERS", 200)
    monkeypatch.setattr(features, "SCORING_BATCH", 250)
    known = purchases()
    rows, quality = interests(known, AS_OF)
    again, _ = interests(known, AS_OF)
    assert 120 <= quality.customers <= 300  # a fifth of the buckets, about
    assert rows["customer_key"].nunique() == 600
    assert not rows.duplicated(["customer_key", "category"]).any()
    assert rows.round(9).equals(again.round(9))
