"""`tagwise bench` end to end on a small population with two history lengths: every
figure the table and the targets read is measured and stored."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tagwise.cli import main

# Two histories, each a full run, `tagwise diff` and a refresh: with the other long
# scenarios, run by `make test-e2e`.
pytestmark = pytest.mark.e2e


def test_bench_measures_both_floors_and_both_histories(tmp_path):
    results = tmp_path / "results"
    outcome = CliRunner().invoke(
        main,
        ["bench", "--customers", "200", "--years", "1", "--years", "2",
         "--work", str(tmp_path / "work"), "--results", str(results)],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    [written] = results.glob("pipeline-*.json")
    measured = json.loads(written.read_text())["results"]
    assert [(r["customers"], r["years"]) for r in measured] == [(200, 1), (200, 2)]
    shorter, longer = measured
    assert sum(longer["rows_generated"].values()) > sum(shorter["rows_generated"].values())
    for result in measured:
        assert result["ingestion_floor_seconds"] > 0
        assert result["ingest_to_floor_ratio"] == pytest.approx(
            result["full_run"]["steps"]["ingest"] / result["ingestion_floor_seconds"], rel=0.1
        )
        assert result["refresh_to_floor_ratio"] > 0
    # Only sizes of 1,000,000 are judged, and the scratch folders are removed.
    assert json.loads(written.read_text())["meets"] == {}
    assert not any((tmp_path / "work").iterdir())
