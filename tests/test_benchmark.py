"""The benchmark's bookkeeping: steps sorted into the pipeline's parts, targets judged."""

from __future__ import annotations

from orchestration.benchmark import destination_export_seconds, step_category
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


def _result(customers, seconds, dbt_ratio=10.0, refresh_share=0.2, peak_gib=4, diff_share=0.2):
    run = {"seconds": seconds, "peak_rss_bytes": peak_gib * 2**30}
    return {
        "customers": customers,
        "full_run": run,
        "refresh": run,
        "dbt_to_floor_ratio": dbt_ratio,
        "refresh_share_of_full_run": refresh_share,
        "diff_share_of_full_run_dbt": diff_share,
    }


def test_targets_are_judged_at_one_million_and_growth_against_100k():
    assert verdicts([_result(100_000, 20)]) == {}
    met = verdicts([_result(100_000, 20), _result(1_000_000, 200)])
    assert met == dict.fromkeys(met, True) and "growth_100k_to_1m" in met
    assert "diff_share_of_full_run_dbt" in met
    missed = verdicts(
        [
            _result(100_000, 10),
            _result(1_000_000, 400, dbt_ratio=30, refresh_share=0.5, peak_gib=9, diff_share=0.4),
        ]
    )
    assert not any(missed.values())


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
