"""The benchmark's bookkeeping: steps sorted into the pipeline's parts, targets judged."""

from __future__ import annotations

from orchestration.benchmark import step_category
from tagwise.benchmark import verdicts


def test_every_step_of_the_daily_job_has_a_part():
    assert step_category("shop__orders") == "ingest"
    assert step_category("dbt_features_tags_segments") == "dbt"
    assert step_category("predictive_model") == "model"
    assert step_category("marts__customer_tags_great_expectations") == "checks"
    assert step_category("exports__erasure") == "export"
    assert step_category("exports__email") == "export"
    assert step_category("exports__webhook") == "export"
    assert step_category("published__marts") == "publish"


def _result(customers, seconds, dbt_ratio=10.0, refresh_share=0.2, peak_gib=4):
    run = {"seconds": seconds, "peak_rss_bytes": peak_gib * 2**30}
    return {
        "customers": customers,
        "full_run": run,
        "refresh": run,
        "dbt_to_floor_ratio": dbt_ratio,
        "refresh_share_of_full_run": refresh_share,
    }


def test_targets_are_judged_at_one_million_and_growth_against_100k():
    assert verdicts([_result(100_000, 20)]) == {}
    met = verdicts([_result(100_000, 20), _result(1_000_000, 200)])
    assert met == dict.fromkeys(met, True) and "growth_100k_to_1m" in met
    missed = verdicts(
        [_result(100_000, 10), _result(1_000_000, 400, dbt_ratio=30, refresh_share=0.5, peak_gib=9)]
    )
    assert not any(missed.values())
