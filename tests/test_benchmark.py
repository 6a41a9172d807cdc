"""The benchmark's bookkeeping: steps sorted into the pipeline's parts, targets judged."""

from __future__ import annotations

from datetime import date

import duckdb
from tagwise.orchestration.benchmark import destination_export_seconds, history_start, step_category

from tagwise.benchmark import (
    TARGETS,
    history_growth,
    ingestion_floor_seconds,
    ingestion_floor_sql,
    verdicts,
)
from tagwise.contract import DEFAULT_START, SOURCES_BY_NAME


def test_every_step_of_the_daily_job_has_a_part():
    assert step_category("shop__orders") == "ingest"
    assert step_category("dbt_features_tags_segments") == "dbt"
    assert step_category("predictive_model") == "model"
    assert step_category("marts__customer_tags_great_expectations") == "checks"
    assert step_category("exports__erasure") == "export"
    assert step_category("exports__email") == "export"
    assert step_category("exports__webhook") == "export"
    assert step_category("published__marts") == "publish"


def _result(
    customers,
    seconds,
    years=2,
    dbt_ratio=8.0,
    refresh_ratio=10.0,
    ingest_ratio=1.4,
    peak_gib=4,
    diff_share=0.2,
    refresh=50.0,
    suggest_share=0.3,
    interests=40.0,
):
    run = {
        "seconds": seconds,
        "peak_rss_bytes": peak_gib * 2**30,
        "step_detail": {"interests_model": interests},
    }
    return {
        "customers": customers,
        "years": years,
        "full_run": run,
        "refresh": {"seconds": refresh, "peak_rss_bytes": peak_gib * 2**30},
        "dbt_to_floor_ratio": dbt_ratio,
        "refresh_to_floor_ratio": refresh_ratio,
        "ingest_to_floor_ratio": ingest_ratio,
        "diff_share_of_full_run_dbt": diff_share,
        "suggest_share_of_full_run_dbt": suggest_share,
    }


def test_targets_are_judged_at_one_million_and_growth_against_100k():
    assert verdicts([_result(100_000, 20)]) == {}
    met = verdicts([_result(100_000, 20), _result(1_000_000, 200)])
    assert met == dict.fromkeys(met, True)
    assert set(met) == set(TARGETS) - {"history_growth_of_refresh"}
    missed = verdicts(
        [
            _result(100_000, 10),
            _result(
                1_000_000, 400, dbt_ratio=18, refresh_ratio=21, ingest_ratio=2.1, peak_gib=6.6,
                diff_share=0.4, suggest_share=1.2, interests=75.0,
            ),
        ]
    )  # fmt: skip
    assert missed == dict.fromkeys(missed, False) and len(missed) == len(TARGETS) - 1


def test_history_growth_compares_the_refresh_with_twice_the_history():
    two_years = _result(1_000_000, 200, refresh=50.0)
    assert verdicts([two_years, _result(1_000_000, 300, years=4, refresh=54.0)])[
        "history_growth_of_refresh"
    ]
    # 1.2x met issue 25's 1.3 and misses issue 46's 1.1.
    assert not verdicts([two_years, _result(1_000_000, 300, years=4, refresh=60.0)])[
        "history_growth_of_refresh"
    ]
    grown = _result(1_000_000, 400, years=4, refresh=70.0)
    assert history_growth(two_years, grown) == 1.4
    assert not verdicts([two_years, grown])["history_growth_of_refresh"]
    # The longer history alone judges nothing: it is compared with the default one.
    assert verdicts([_result(1_000_000, 400, years=4)]) == {}


def test_a_history_of_n_years_ends_on_the_as_of_date():
    assert history_start(date(2026, 6, 30), 2) == DEFAULT_START
    assert history_start(date(2026, 6, 30), 4) == date(2022, 7, 1)
    assert history_start(date(2028, 2, 29), 1) == date(2027, 3, 1)


def test_the_ingestion_floor_reads_every_landing_file_typed_and_leaves_nothing(landing, tmp_path):
    landing.minimal()
    landing.write(
        "orders",
        "o2.csv",
        landing.HEADERS["orders"] + "\nO2,C1,2025-02-01T10:00:00+02:00,completed,web,1.50",
    )
    scratch = tmp_path / "floor.duckdb"
    assert ingestion_floor_seconds(landing.root, scratch) > 0
    assert not scratch.exists()
    orders = SOURCES_BY_NAME["orders"]
    sql = ingestion_floor_sql(
        orders, landing.root / "orders" / "o2.csv", ["order_id", "ordered_at", "extra"]
    )
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        assert [d[1] for d in con.execute(f"describe {sql}").fetchall()] == [
            "VARCHAR", "TIMESTAMP WITH TIME ZONE", "VARCHAR",
        ]  # fmt: skip


def test_the_release_of_every_destination_is_measured_against_the_email_export_alone():
    timed = destination_export_seconds(
        {"exports__erasure": 9.0, "exports__email": 2.0, "exports__sms": 1.0, "exports__ads": 1.5,
         "exports__webhook": 0.0, "published__marts": 5.0}
    )  # fmt: skip
    assert timed == {
        "seconds": {"email": 2.0, "sms": 1.0, "ads": 1.5, "webhook": 0.0},
        "all_to_email_ratio": 2.25,
    }
    assert destination_export_seconds({"exports__sms": 1.0})["all_to_email_ratio"] is None
