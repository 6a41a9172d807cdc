"""The dbt unit tests (logic pinned on crafted rows: consent ties, reasons, holdouts,
generated audience names...) on DuckDB. They need the relations they test to exist, so
they run on a small built warehouse; Spark runs them in tests/test_spark_parity.py."""

from __future__ import annotations

from datetime import date

import pytest
from tagwise.orchestration.run import build_as_of

from tagwise.dbt import DbtSettings, node_counts, run_dbt
from tagwise.ingest import ingest

AS_OF = date(2026, 6, 30)


@pytest.mark.e2e
def test_the_dbt_unit_tests_pass_on_duckdb(landing, warehouse):
    landing.minimal()
    ingest(landing.root, warehouse)
    assert build_as_of(warehouse, AS_OF).success
    counts = node_counts(
        run_dbt(DbtSettings(warehouse, AS_OF), "test", select="test_type:unit", quiet=True)
    )
    assert counts["unit_test"].get("pass", 0) > 20
    assert set(counts["unit_test"]) == {"pass"}, counts
