"""The shipped tag catalog, built by dbt against crafted rule inputs: every default rule
of SPEC 4 just below, at and just above its threshold, and the evidence it writes."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
import yaml

from tagwise.catalog import TAG_INPUTS_DOC, documented_columns
from tagwise.dbt import DbtSettings, run_dbt
from tagwise.dbt_project import PROJECT_DIR

# (customer, inputs, tags expected); inputs not named are null.
CASES = [
    ("hv_at_0_9", {"revenue_365d": 100, "revenue_365d_cume_dist": 0.9}, set()),
    ("hv_above", {"revenue_365d": 100, "revenue_365d_cume_dist": 0.91}, {"high-value"}),
    ("hv_no_revenue", {"revenue_365d": 0}, set()),
    ("loyal_2", {"orders_90d": 2}, set()),
    ("loyal_3", {"orders_90d": 3}, {"loyal-customer"}),
    ("frequent_4", {"orders_365d": 4}, set()),
    ("frequent_5", {"orders_365d": 5}, {"frequent-buyer"}),
    ("first_0", {"orders_lifetime": 0}, set()),
    ("first_1", {"orders_lifetime": 1}, {"first-time-buyer"}),
    ("first_2", {"orders_lifetime": 2}, set()),
    ("new_29_days", {"first_order_days_ago": 29}, {"new-customer"}),
    ("new_30_days", {"first_order_days_ago": 30}, set()),
    ("risk_90", {"orders_lifetime": 2, "recency_days": 90}, set()),
    ("risk_91", {"orders_lifetime": 2, "recency_days": 91}, {"at-risk"}),
    ("risk_365", {"orders_lifetime": 2, "recency_days": 365}, {"at-risk"}),
    ("risk_366", {"orders_lifetime": 2, "recency_days": 366}, set()),
    ("risk_one_order", {"orders_lifetime": 1, "recency_days": 100}, {"first-time-buyer"}),
    (
        "inactive_yes",
        {"orders_lifetime": 1, "orders_365d": 0, "emails_opened_90d": 0},
        {"inactive", "first-time-buyer"},
    ),
    ("inactive_opened", {"orders_lifetime": 3, "orders_365d": 0, "emails_opened_90d": 1}, set()),
    ("inactive_bought", {"orders_lifetime": 3, "orders_365d": 1, "emails_opened_90d": 0}, set()),
    ("engaged_yes", {"emails_delivered_90d": 3, "open_rate_90d": 0.9}, {"highly-engaged"}),
    ("engaged_2_sent", {"emails_delivered_90d": 2, "open_rate_90d": 1.0}, set()),
    ("engaged_0_89", {"emails_delivered_90d": 3, "open_rate_90d": 0.89}, set()),
    ("cart_1", {"abandoned_carts_7d": 1}, {"abandoned-cart"}),
    ("cart_0", {"abandoned_carts_7d": 0}, set()),
    ("pricing_3", {"pricing_page_views_30d": 3, "orders_30d": 0}, {"considering-purchase"}),
    ("pricing_2", {"pricing_page_views_30d": 2, "orders_30d": 0}, set()),
    ("pricing_bought", {"pricing_page_views_30d": 3, "orders_30d": 1}, set()),
    ("discount_0_5", {"orders_365d": 2, "discount_share_365d": 0.5}, {"price-sensitive"}),
    ("discount_0_49", {"orders_365d": 2, "discount_share_365d": 0.49}, set()),
    ("discount_1_order", {"orders_365d": 1, "discount_share_365d": 1.0}, set()),
    ("eco_0_3", {"eco_share_365d": 0.3}, {"interested-in-sustainability"}),
    ("eco_0_29", {"eco_share_365d": 0.29}, set()),
    ("survey_yes", {"survey_values_sustainability": "yes"}, {"interested-in-sustainability"}),
    ("survey_no", {"survey_values_sustainability": "no"}, set()),
    ("premium_0_5", {"premium_share_365d": 0.5}, {"premium-buyer"}),
    ("premium_0_49", {"premium_share_365d": 0.49}, set()),
    ("tickets_3", {"support_tickets_90d": 3}, {"support-heavy"}),
    ("tickets_2", {"support_tickets_90d": 2}, set()),
    ("title_vp", {"job_title": "VP Sales"}, {"decision-maker"}),
    ("title_cofounder", {"job_title": "Co-Founder & CFO"}, {"decision-maker"}),
    ("title_head_of", {"job_title": "Head of Operations"}, {"decision-maker"}),
    ("title_directorate", {"job_title": "Directorate Clerk"}, set()),
    ("title_analyst", {"job_title": "Data Analyst"}, {"influencer"}),
    ("title_coach", {"job_title": "Leadership Coach"}, set()),
    ("title_both", {"job_title": "Engineering Manager and VP"}, {"decision-maker"}),
    ("churn_0_29", {"orders_lifetime": 2, "p_alive": 0.29}, {"churn-risk"}),
    ("churn_0_3", {"orders_lifetime": 2, "p_alive": 0.3}, set()),
    ("churn_one_order", {"orders_lifetime": 1, "p_alive": 0.1}, {"first-time-buyer"}),
    (
        "evidence_a",
        {
            "orders_90d": 4,
            "emails_delivered_90d": 6,
            "open_rate_90d": 0.9166,
            "revenue_365d": 1234.5,
            "revenue_365d_cume_dist": 0.955,
        },
        {"loyal-customer", "highly-engaged", "high-value"},
    ),
    ("evidence_b", {"eco_share_365d": 0.42}, {"interested-in-sustainability"}),
]
DERIVED_TYPES = {
    "first_order_days_ago": "bigint",
    "revenue_365d_cume_dist": "double",
    "survey_values_sustainability": "varchar",
    "category_sequences_365d": "varchar",
}


def input_types() -> dict[str, str]:
    """Every documented rule input with the type its contract gives it."""
    documented = yaml.safe_load((PROJECT_DIR / "models/marts/core/_core__models.yml").read_text())
    contract = {
        c["name"]: c["data_type"]
        for m in documented["models"]
        for c in m.get("columns", [])
        if "data_type" in c
    }
    return {
        name: DERIVED_TYPES.get(name) or contract[name]
        for name in sorted(documented_columns(TAG_INPUTS_DOC, "int_tags__inputs"))
    }


def create_model_fit_status(con: duckdb.DuckDBPyConnection, is_usable: bool = True) -> None:
    """The other input of int_tags__rule_matches: whether the model's fit may feed tags."""
    con.execute("create schema if not exists intermediate")
    con.execute(
        "create or replace table intermediate.int_model__fit_status as "
        "select date '2026-06-30' as as_of_date, ? as is_usable",
        [is_usable],
    )


def rule_matches(warehouse, fit_is_usable: bool) -> dict[str, dict[str, dict]]:
    """int_tags__rule_matches built on the crafted inputs, the model's fit usable or not."""
    types = input_types()
    with duckdb.connect(str(warehouse)) as con:
        create_model_fit_status(con, fit_is_usable)
        con.execute("drop table if exists intermediate.int_tags__inputs")
        columns = ", ".join(f"{name} {kind}" for name, kind in types.items())
        con.execute(f"create table intermediate.int_tags__inputs ({columns})")
        for key, values, _ in CASES:
            row = {name: None for name in types} | {"customer_key": key} | values
            con.execute(
                f"insert into intermediate.int_tags__inputs by name select {', '.join('?::' + types[n] + ' as ' + n for n in row)}",
                list(row.values()),
            )
    run_dbt(
        DbtSettings(warehouse, date(2026, 6, 30)),
        "run",
        select="int_tags__rule_matches",
        quiet=True,
    )
    found: dict[str, dict[str, dict]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for key, tag, source, version, evidence in con.execute(
            "select customer_key, tag, source, rule_version, evidence from intermediate.int_tags__rule_matches"
        ).fetchall():
            found.setdefault(key, {})[tag] = {
                "source": source,
                "rule_version": version,
                "evidence": evidence,
            }
    return found


@pytest.fixture(scope="module")
def matches(tmp_path_factory) -> dict[str, dict[str, dict]]:
    return rule_matches(tmp_path_factory.mktemp("rules") / "warehouse.duckdb", fit_is_usable=True)


def test_tags_resting_on_the_model_are_withheld_while_its_fit_is_unusable(matches, tmp_path):
    withheld = rule_matches(tmp_path / "warehouse.duckdb", fit_is_usable=False)
    model_tags = {
        (c, t) for c, tags in matches.items() for t, row in tags.items() if row["source"] == "model"
    }
    assert ("churn_0_29", "churn-risk") in model_tags
    assert not any(row["source"] == "model" for tags in withheld.values() for row in tags.values())
    everything_else = {(c, t) for c, tags in matches.items() for t in tags} - model_tags
    assert {(c, t) for c, tags in withheld.items() for t in tags} == everything_else


@pytest.mark.parametrize(("customer", "inputs", "tags"), CASES, ids=[c[0] for c in CASES])
def test_rule_thresholds(matches, customer, inputs, tags):
    assert set(matches.get(customer, {})) == tags


def test_tags_resting_on_the_model_say_so(matches):
    assert matches["churn_0_29"]["churn-risk"]["source"] == "model"
    assert matches["loyal_3"]["loyal-customer"]["source"] == "rule"


def test_every_rule_tag_carries_the_version_of_its_rule(matches):
    versions = {tag: row["rule_version"] for tags in matches.values() for tag, row in tags.items()}
    assert all(len(v) == 32 for v in versions.values())
    assert versions["loyal-customer"] != versions["frequent-buyer"]


def test_evidence_sentences_carry_the_numbers(matches):
    a, b = matches["evidence_a"], matches["evidence_b"]
    assert a["loyal-customer"]["evidence"] == "4 completed orders in the last 90 days"
    assert (
        a["highly-engaged"]["evidence"]
        == "open rate of 92% over 6 emails delivered in the last 90 days"
    )
    assert (
        a["high-value"]["evidence"]
        == "revenue of 1234.50 in the last 365 days, as much as or more than 96% of customers with revenue"
    )
    assert (
        b["interested-in-sustainability"]["evidence"]
        == "eco products are 42% of revenue in the last 365 days; sustainability survey answer: n/a"
    )


def test_cases_cover_every_rule_of_the_catalog():
    catalog = yaml.safe_load((PROJECT_DIR / "models/intermediate/tags/tag_catalog.yml").read_text())
    rules = {r["tag"] for r in catalog["models"][0]["config"]["meta"]["rules"]}
    assert rules == set().union(*(tags for _, _, tags in CASES))
