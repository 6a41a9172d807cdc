"""Spark parity (`make test-spark`): the daily graph on Spark gives the marts of SPEC section 3
that it gives on DuckDB, from the same landing files and as-of date, and finds the same
people: both runs use a deployment folder whose identity catalog has an email and a phone
rule and a probabilistic rule, on a sample with planted duplicates and junk identifiers.

Same rows; decimals, dates, texts and counts equal; floating-point values equal within 1e-9.
The Spark side is the README's own commands, `tagwise run --target spark` and `tagwise
spark-stop` as a newcomer types them (only the folders differ), so the README's test
leaves them to this one: ingestion by Spark, dbt-spark, the model, the Great Expectations
gate on Spark dataframes, export and publish. The project's dbt unit tests run on Spark as
well.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from test_readme import ROOT, newcomers_environment, readme_commands

from tagwise.contract import Column, Kind
from tagwise.dbt import DbtSettings, node_counts, run_dbt
from tagwise.generator import GenerateConfig, generate
from tagwise.ingest.validation import DUCKDB, SPARK, typed_value
from tagwise.spark import SparkSettings, session, stop_local_server

pytestmark = pytest.mark.spark

AS_OF = "2026-06-30"
# Each mart of SPEC section 3 and the columns that identify its rows.
MARTS = {
    "dim_customers": ["customer_key"],
    "customer_features": ["customer_key"],
    "customer_tags": ["customer_key", "tag", "source"],
    "segment_membership": ["customer_key", "segment"],
    "email_audience": ["email"],
    "destination_audiences": ["destination", "key"],
    "audience_overlap": ["as_of_date", "audience_a", "audience_b"],
    "segment_campaign_targets": ["campaign_id", "customer_key"],
    "audience_lift_groups": ["campaign_id"],
    "audience_lift": ["campaign_id"],
    "model_daily_changes": ["as_of_date", "subject", "measure"],
    "catalog_definitions": ["definition_type", "definition_name"],
    "customer_category_propensity": ["customer_key", "category"],
    "lookalike_quality": ["lookalike"],
    # Who is who (SPEC 3.1): the people, their links, what the guards stopped, the pairs
    # the probabilistic rule scored.
    "restricted.int_identity__clusters": ["customer_id"],
    "restricted.identity_links": ["customer_id", "linked_customer_id", "rule"],
    "restricted.identity_guarded_values": ["guard", "identifier_or_rule", "guarded_value"],
    "model.identity_matches": ["customer_id", "linked_customer_id"],
}
IDENTITY_RULES = {
    "rules": [
        {"rule": "same-email", "match": ["email"]},
        {"rule": "same-phone", "match": ["phone"]},
    ],
    "probabilistic": {
        "rule": "likely-same-person",
        "fields": ["first_name", "last_name", "birth_date", "postal_code", "city"],
        "blocking": [["birth_date"], ["postal_code"]],
        "threshold": 0.95,
    },
}
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parity") / "landing"
    # A planted lift gives audience_lift a campaign with a holdout to report on, a planted
    # launch the shipped like-launch-buyers lookalike a seed.
    config = GenerateConfig(
        customers=400,
        seed=23,
        out=out,
        dirty_rate=0.01,
        planted_lift=0.25,
        planted_identity=0.1,
        planted_launch=0.3,
    )
    generate(config, workers=1)
    return out


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Path:
    """A deployment folder whose identity catalog chains rules and scores records."""
    folder = tmp_path_factory.mktemp("parity") / "team"
    done = _shell(f"{ROOT / '.venv/bin/tagwise'} init {folder}")
    assert done.returncode == 0, done.stderr
    catalog = folder / "catalogs" / "identity_catalog.yml"
    document = yaml.safe_load(catalog.read_text())
    document["models"][0]["config"]["meta"].update(IDENTITY_RULES)
    catalog.write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


def _report(report_json: str) -> SimpleNamespace:
    """A run's report as `tagwise run` writes it beside its log (run-D.json)."""
    return SimpleNamespace(**json.loads(report_json))


@pytest.fixture(scope="module")
def duckdb_run(landing, team, tmp_path_factory):
    root = tmp_path_factory.mktemp("duckdb")
    done = _shell(
        f"{ROOT / '.venv/bin/tagwise'} --project {team} run --landing {landing} "
        f"--warehouse {root / 'warehouse.duckdb'} --exports {root / 'exports'} --as-of {AS_OF}"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root, _report((root / "logs" / f"run-{AS_OF}.json").read_text())


def readme_spark_commands(landing: Path, root: Path) -> tuple[str, str]:
    """The README's run on Spark and its server's stop, on this test's folders."""
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    run = next(c for c in commands if " run --target spark " in c)
    stop = next(c for c in commands if " spark-stop " in c)
    folders = {
        "data/landing": landing,
        "data/spark/warehouse.duckdb": root / "warehouse.duckdb",
        "data/spark/exports": root / "exports",
    }
    for readme_path, path in folders.items():
        assert readme_path in run, f"the README's Spark run no longer names {readme_path}"
        run, stop = run.replace(readme_path, str(path)), stop.replace(readme_path, str(path))
    assert f"--as-of {AS_OF}" in run
    return run, stop


def _shell(command: str, project: Path | None = None) -> subprocess.CompletedProcess:
    """A command run from the repository as a newcomer's shell runs it (in a deployment
    folder when given one)."""
    env = newcomers_environment() | ({"TAGWISE_PROJECT": str(project)} if project else {})
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def spark_run(landing, team, tmp_path_factory):
    root = tmp_path_factory.mktemp("spark")
    run, stop = readme_spark_commands(landing, root)
    settings = SparkSettings.for_warehouse(root / "warehouse.duckdb")
    spark = None
    try:
        done = _shell(run, project=team)
        assert done.returncode == 0, f"{run}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        report = _report((root / "logs" / f"run-{AS_OF}.json").read_text())
        spark = session(settings)
        yield root, report, spark
    finally:
        # The client first: one whose server is gone retries its release at exit for minutes.
        if spark is not None:
            spark.stop()
        stopped = _shell(stop, project=team)
        stop_local_server(settings)  # in case the README's stop did not
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def _normalized(table: pa.Table, keys: list[str]) -> pd.DataFrame:
    """Rows in key order; timestamps as naive UTC (Spark's carry the UTC zone)."""
    frame = table.to_pandas()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.mark.parametrize("mart", MARTS)
def test_the_mart_is_identical_on_duckdb_and_spark(mart, duckdb_run, spark_run):
    duckdb_root, _ = duckdb_run
    _, _, spark = spark_run
    table = mart if "." in mart else f"marts.{mart}"
    with duckdb.connect(str(duckdb_root / "warehouse.duckdb"), read_only=True) as con:
        expected = _normalized(con.sql(f"select * from {table}").to_arrow_table(), MARTS[mart])
    actual = _normalized(spark.table(table).toArrow(), MARTS[mart])

    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected) > 0
    for column in expected.columns:
        left, right = expected[column], actual[column]
        if pd.api.types.is_float_dtype(left):
            both_null = left.isna() & right.isna()
            close = (left - right).abs() <= TOLERANCE
            assert (both_null | close).all(), f"{mart}.{column} differs beyond {TOLERANCE}"
        else:
            differing = ~((left == right) | (left.isna() & right.isna()))
            assert not differing.any(), (
                f"{mart}.{column} differs, e.g. {left[differing].head(3).tolist()} "
                f"(DuckDB) against {right[differing].head(3).tolist()} (Spark)"
            )


def test_spark_ingestion_quarantines_what_duckdb_quarantines(duckdb_run, spark_run):
    duckdb_root, duckdb_report = duckdb_run
    _, spark_report, spark = spark_run
    assert spark_report.ingestion == duckdb_report.ingestion
    assert sum(source["rows_quarantined"] for source in spark_report.ingestion.values()) > 0
    sql = "select source, file, row_number, reason from raw.quarantine order by 1, 2, 3"
    with duckdb.connect(str(duckdb_root / "warehouse.duckdb"), read_only=True) as con:
        expected = con.execute(sql).fetchall()
    assert [tuple(row) for row in spark.sql(sql).collect()] == expected


def test_erasure_purges_the_same_rows_on_spark(duckdb_run, spark_run):
    """The sample erases a customer: both engines keep the same raw rows and record the
    same identifier hashes, and neither keeps a row of theirs, in raw or in the identity
    tables of the build."""
    duckdb_root, _ = duckdb_run
    _, _, spark = spark_run
    hashes = (
        "select identifier_type, identifier_sha256 from erasure.erased_identifiers order by 1, 2"
    )
    erased_ids = (
        "select identifier_sha256 from erasure.erased_identifiers "
        "where identifier_type = 'customer_id'"
    )
    identity_rows = (
        "select count(*) from restricted.int_identity__identifiers "
        "where customer_key in (select customer_key from restricted.int_identity__erased_people)"
    )
    with duckdb.connect(str(duckdb_root / "warehouse.duckdb"), read_only=True) as con:
        expected_hashes = con.execute(hashes).fetchall()
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw' order by 1"
            ).fetchall()
        ]
        expected_counts = {
            t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in tables
        }
        assert con.execute(identity_rows).fetchone()[0] == 0
    assert ("customer_id",) in {(t,) for t, _ in expected_hashes}
    assert [tuple(row) for row in spark.sql(hashes).collect()] == expected_hashes
    assert {t: spark.table(f"raw.{t}").count() for t in tables} == expected_counts
    orders_left = spark.sql(
        f"select count(*) from raw.orders where sha2(customer_id, 256) in ({erased_ids})"
    )
    assert orders_left.first()[0] == 0
    assert spark.sql(identity_rows).first()[0] == 0


def test_the_gate_ran_on_spark_and_the_export_matches(duckdb_run, spark_run):
    _, duckdb_report = duckdb_run
    _, spark_report, _ = spark_run
    assert set(spark_report.gates) == set(duckdb_report.gates)
    for mart, gate in spark_report.gates.items():
        assert gate["failed"] == 0, gate["failures"]
        assert gate["passed"] == duckdb_report.gates[mart]["passed"] > 0
    same = ("adds", "updates", "removes")
    assert {k: spark_report.exports["email"][k] for k in same} == {
        k: duckdb_report.exports["email"][k] for k in same
    }
    assert spark_report.exports["email"]["adds"] > 0


def test_the_dbt_unit_tests_pass_on_spark(spark_run):
    root, _, _ = spark_run
    settings = DbtSettings(root / "warehouse.duckdb", date.fromisoformat(AS_OF), "spark")
    counts = node_counts(run_dbt(settings, "test", select="test_type:unit", quiet=True))
    assert counts["unit_test"].get("pass", 0) > 20
    assert set(counts["unit_test"]) == {"pass"}


# Timestamp cells the engines' casts read differently unless the contract's rules decide
# first: offsets no zone has, offsets without a colon, fractions, and a shape Spark alone
# would take.
TIMESTAMP_CELLS = [
    "2025-02-01 10:00:00+25:00",
    "2025-02-01T10:00:00+0575",
    "2025-02-01 10:00:00-99",
    "2025-02-01 10:00:00+15",
    "2025-02-01 10:00:00+14:00",
    "2025-02-01 10:00:00-12:00",
    "2025-02-01 10:00:00+05:30",
    "2025-02-01T10:00:00.123456Z",
    "2025-02-01 10:00",
    "2025-02-01",
    "2025-02-30 10:00:00",
    "2025-2-1 10:00:00",
]


def test_timestamp_cells_are_typed_alike_on_both_engines(spark_run):
    _, _, spark = spark_run
    column = Column("stamp", Kind.TIMESTAMP)
    rows = ", ".join(f"({i}, '{cell}')" for i, cell in enumerate(TIMESTAMP_CELLS))

    def typed(dialect):
        return (
            f"select i, cast({typed_value(column, dialect)} as string) as value "
            f"from (values {rows}) as cells(i, stamp) order by i"
        )

    with duckdb.connect() as con:
        expected = con.execute(typed(DUCKDB)).fetchall()
    actual = [tuple(row) for row in spark.sql(typed(SPARK)).collect()]
    assert actual == expected
    assert [value is None for _, value in expected][:4] == [True] * 4
