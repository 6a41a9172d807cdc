"""The release gate: the Great Expectations suites of `expectations/` run on the built
warehouse before anything is published or exported.

Datasets are read through a read-only DuckDB connection into dataframes (GX's SQL
datasource returns no rows from DuckDB, GX issues #10738 and #11579); on the Spark target
they are Spark dataframes, validated by GX's Spark datasource. Every outcome is
kept in the quality source's validation_results and rendered as GX Data Docs under
`<warehouse folder>/quality/gx/uncommitted/data_docs/local_site/index.html`.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import logging
import re
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import great_expectations as gx
import pandas as pd
import pyarrow as pa
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

from tagwise.activation.changes import (
    create_state_tables,
    export_inputs,
    identifiers_held_by_others_sql,
    unsent_removes,
)
from tagwise.activation.destinations import destinations
from tagwise.activation.outbox import REMOVALS, UNFINISHED_WRITE
from tagwise.activation.redaction import access_reports_folder
from tagwise.data_docs import make_offline
from tagwise.erasure import erased_key_hashes_sql, identifier_hashes
from tagwise.expectations.suites import (
    GUARDED_MART,
    Check,
    GateSettings,
    checks,
    datasets,
    feature_stats_sql,
)
from tagwise.ingest.loaders import csv_cells
from tagwise.ingest.validation import literal
from tagwise.paths import literal_path
from tagwise.publish import published_path
from tagwise.relations import create_source_tables, ref, source
from tagwise.release import build_sql, record_verdicts
from tagwise.spark import SparkSettings, copy_to_state, read_rows, session
from tagwise.warehouse import connect

# Tables of tagwise's own state that datasets read (see load_spark_datasets).
STATE_TABLES = ("last_good_segment_sizes", "last_good_feature_stats", "releases")
# Validation results (stored and rendered) kept per checkpoint: about two months of daily runs.
VALIDATIONS_KEPT = 60


@dataclass(frozen=True)
class Outcome:
    check: Check
    success: bool
    unexpected_count: int | None
    sample: list

    def line(self) -> str:
        found = f" ({self.unexpected_count:,} unexpected)" if self.unexpected_count else ""
        shown = f"; for example {self.sample[:5]}" if self.sample else ""
        return f"[{self.check.suite}/{self.check.dataset}] {self.check.description}{found}{shown}"


@dataclass(frozen=True)
class GateResult:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    docs: Path | None = None

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.check.severity == "error"]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.check.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors


def prepare(warehouse: Path) -> None:
    with connect(warehouse) as con:
        create_source_tables(con, "quality")
        # The export state may not exist before the first export.
        create_state_tables(con)


# An address, an E.164 phone or a SHA-256 as it stands in any text: what the scan of files
# of unknown format looks for.
IDENTIFIER_IN_TEXT = re.compile(
    r"[^\s\"',;:<>()\[\]{}|]+@[^\s\"',;:<>()\[\]{}|]+|[+][0-9]{8,15}|[0-9a-f]{64}"
)


def erased_in_export_files(
    erased: set[str], exports: Path, published: Path | None = None, reports: Path | None = None
) -> pd.DataFrame:
    """Every erased person's key found in any file under the exports folder, whatever its
    format (change sets in CSV and JSON Lines, audiences, access reports, anything else),
    other than in the remove rows that carry the erasure to the destination; and every
    file a killed write left unfinished there or beside the published copy, which no
    erasure would ever reach.

    `erased` holds the SHA-256 of each identifier (tagwise.erasure.erased_key_hashes_sql),
    so the check needs no erased person's address or phone in clear and erasure removes
    those from the warehouse before the gate runs. A token matches when it is one of the
    hashes (a hashed key) or its own hash is (a key in clear); what is reported is that
    hash, so the gate's stored failure samples show no erased address either. DuckDB
    reads CSV and JSON Lines (a Python reader took seconds per audience file at a million
    customers)."""
    found: list[tuple[str, str]] = []
    # The access reports folder (tagwise.activation.redaction.access_reports_folder) is read as well.
    files = sorted(
        p for folder in (exports, reports) if folder and folder.exists()
        for p in folder.rglob("*") if p.is_file()
    )  # fmt: skip
    unfinished = [p for p in files if UNFINISHED_WRITE.fullmatch(p.name)]
    if published is not None and published.parent.is_dir():
        unfinished += [p for p in published.parent.iterdir() if UNFINISHED_WRITE.fullmatch(p.name)]
    found += [(str(p), "(a file whose write did not finish)") for p in unfinished]
    with duckdb.connect() as con:
        con.execute("create table erased (identifier_sha256 varchar)")
        if erased:
            con.executemany("insert into erased values (?)", [(e,) for e in sorted(erased)])
        for path in files if erased else []:
            if path in unfinished:
                continue
            name = path.name.lower()
            with literal_path(path) as readable:
                if name.endswith(".csv"):
                    found += _erased_in_csv(con, path, readable)
                elif name.endswith(".jsonl"):
                    found += con.execute(
                        f"""
                        select distinct ? as file, {_MATCHED.format(token="token")} as identifier_sha256
                        from (
                            select unnest(regexp_extract_all(j::varchar, '"([^"]*)"', 1)) as token
                            from read_json_objects({literal(readable)}, format = 'newline_delimited') as t(j)
                            where json_extract_string(j, '$.change') is distinct from 'remove')
                        where identifier_sha256 is not null
                        """,
                        [str(path)],
                    ).fetchall()
                else:
                    text = path.read_bytes().decode("utf-8", errors="replace").lower()
                    tokens = set(IDENTIFIER_IN_TEXT.findall(text))
                    hashes = tokens | {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
                    found += [(str(path), h) for h in sorted(hashes & erased)]
    return pd.DataFrame(found, columns=["file", "identifier_sha256"])


# The erased identifier's hash a token shows: the token itself where it is a hashed key,
# its hash where it is the key in clear.
_MATCHED = """case
    when {token} in (select identifier_sha256 from erased) then {token}
    when sha256({token}) in (select identifier_sha256 from erased) then sha256({token})
end"""


def _erased_in_csv(con: duckdb.DuckDBPyConnection, path: Path, readable: Path) -> list[tuple]:
    if path.name.startswith(f"{REMOVALS}-"):
        return []  # a platform removal file: every row is the remove an erasure needs
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if not header:
        return []
    rows = f"select * from {csv_cells(readable, header)}"
    if "change" in header:
        rows += " where change is distinct from 'remove'"
    return con.execute(
        f"""
        select distinct ? as file, {_MATCHED.format(token="cell")} as identifier_sha256
        from (unpivot ({rows}) on columns(*) into name column_name value cell)
        where identifier_sha256 is not null
        """,
        [str(path)],
    ).fetchall()


def _dataset_sql(name: str, settings: GateSettings) -> str:
    return (
        datasets()[name]
        .replace("{min_segment_size_for_change}", str(settings.min_segment_size_for_change))
        .replace("{min_customers_for_drift}", str(settings.min_customers_for_drift))
    )


def _number_type(arrow_type: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal(arrow_type):
        return pa.float64()
    return pa.int64() if pa.types.is_integer(arrow_type) else arrow_type


def dataset_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """A dataset as pandas, through Arrow: text arrives as Arrow-backed strings without a
    Python object per value (customer_tags at a million customers: 3.6 s through `.df()`,
    0.6 s this way). Numbers arrive as int64, or float64 for decimals and integers holding
    nulls: GX compares only those two in one vectorized step (the nullable RFM scores were
    once checked value by value in Python, 2.7 million calls)."""
    table = con.sql(sql).to_arrow_table()
    schema = pa.schema([field.with_type(_number_type(field.type)) for field in table.schema])
    return table.cast(schema).to_pandas(date_as_object=False)


def load_datasets(
    con: duckdb.DuckDBPyConnection,
    exports: Path,
    settings: GateSettings,
    names: set[str],
    published: Path | None = None,
    reports: Path | None = None,
) -> dict[str, pd.DataFrame]:
    # Spark's name for SHA-256, so that a dataset's SQL is one text for both engines.
    con.execute("create temp macro if not exists sha2(text, bits) as sha256(text)")
    frames = {
        name: dataset_frame(con, _dataset_sql(name, settings))
        for name in datasets()
        if name in names
    }
    if "erased_in_export_files" in names:
        frames["erased_in_export_files"] = _erased_in_files(
            lambda sql: con.execute(sql).fetchall(), exports, published, reports
        )
    return frames | state_datasets(con, names)


def _erased_in_files(
    rows: Callable[[str], list[tuple]],
    exports: Path,
    published: Path | None,
    reports: Path | None,
) -> pd.DataFrame:
    """erased_in_export_files for everyone ever erased, but for an identifier someone not
    erased holds now (an erased person's former phone may be another customer's): their
    rows stay in the files, as the redaction leaves them."""
    erased = {h for (h,) in rows(erased_key_hashes_sql())}
    found = erased_in_export_files(erased, exports, published, reports)
    if found.empty:
        return found
    held = {
        h for kind, identifier in rows(identifiers_held_by_others_sql())
        for h in identifier_hashes(kind, identifier)
    }  # fmt: skip
    return found[~found["identifier_sha256"].isin(held)].reset_index(drop=True)


def state_datasets(con: duckdb.DuckDBPyConnection, names: set[str]) -> dict[str, pd.DataFrame]:
    """Datasets computed on tagwise's own state (the local DuckDB file on every target):
    the change set each destination's export is about to send, checked against the sync
    rules."""
    if "unsent_removes" not in names:
        return {}
    found = [(d, *row) for d in destinations() for row in unsent_removes(con, d)]
    return {
        "unsent_removes": pd.DataFrame(
            found, columns=["destination", "key", "problem"], dtype=object
        )
    }


def load_spark_datasets(
    spark,
    state: duckdb.DuckDBPyConnection,
    exports: Path,
    settings: GateSettings,
    names: set[str],
    published: Path | None = None,
    reports: Path | None = None,
) -> dict:
    """The datasets as Spark dataframes. tagwise's own state (last good segment sizes, the
    export's sync state) lives in the local DuckDB file on every target: those tables
    reach Spark as temporary views."""
    from pyspark.sql.pandas.types import from_arrow_schema

    tables = [source("quality", name) for name in STATE_TABLES]
    for table in tables:
        rows = state.sql(f"select * from {table}").to_arrow_table()
        # With its schema given: Spark cannot infer one from an empty table.
        spark.createDataFrame(rows, schema=from_arrow_schema(rows.schema)).createOrReplaceTempView(
            table.replace(".", "__")
        )
    frames = {}
    for name in datasets():
        if name in names:
            sql = _dataset_sql(name, settings)
            for table in tables:
                sql = sql.replace(table, table.replace(".", "__"))
            frames[name] = spark.sql(sql)
    if "erased_in_export_files" in names:
        frames["erased_in_export_files"] = _erased_in_files(
            lambda sql: [tuple(row) for row in spark.sql(sql).collect()],
            exports,
            published,
            reports,
        )
    return frames | state_datasets(state, names)


def _context(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = {"globally": False}
    return context


def validate(
    frames: dict[str, pd.DataFrame], all_checks: list[Check], docs_root: Path, run_name: str
) -> tuple[list[Outcome], Path]:
    """Run every check on its dataframe, one GX checkpoint per (suite, dataset); the run is
    named `run_name` in Data Docs (tagwise names it by the build's as-of date)."""
    context = _context(docs_root)
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    sources = {}

    def source_for(frame):
        # Spark's datasource only when there are Spark frames: GX starts a local Spark
        # session of its own when that datasource is created without one.
        kind = "pandas" if isinstance(frame, pd.DataFrame) else "spark"
        if kind not in sources:
            if kind == "spark":
                sources[kind] = context.data_sources.add_or_update_spark(name="tagwise_spark")
            else:
                sources[kind] = context.data_sources.add_or_update_pandas(name="tagwise")
        return sources[kind]

    grouped: dict[tuple[str, str], list[Check]] = defaultdict(list)
    for check in all_checks:
        grouped[(check.suite, check.dataset)].append(check)
    outcomes: list[Outcome] = []
    rendered = []
    for (suite_name, dataset), group in grouped.items():
        name = f"{suite_name}__{dataset}"
        frame = frames[dataset]
        source = source_for(frame)
        asset = next(
            (a for a in source.assets if a.name == dataset), None
        ) or source.add_dataframe_asset(name=dataset)
        batch = next((b for b in asset.batch_definitions if b.name == "whole"), None) or (
            asset.add_batch_definition_whole_dataframe("whole")
        )
        # GX binds an expectation to the suite it joins: give it copies, so checks can be reused.
        expectations = [copy.copy(c.expectation) for c in group]
        for expectation, check in zip(expectations, group, strict=True):
            expectation.meta = {"severity": check.severity}
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=name, expectations=expectations)
        )
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(data=batch, suite=suite, name=name)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[definition],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": _columns_checked(frame, group)}, run_id=run_id
        )
        rendered += [*result.run_results, ExpectationSuiteIdentifier(name)]
        for run in result.run_results.values():
            for item, check in zip(run.results, group, strict=True):
                details = item.result or {}
                sample = details.get("partial_unexpected_list") or []
                if not item.success and not sample:
                    sample = _head(frame)
                elif sample and check.subject and isinstance(frame, pd.DataFrame):
                    sample = _with_subject(frame, check, sample)
                outcomes.append(
                    Outcome(check, bool(item.success), details.get("unexpected_count"), sample)
                )
    # Rendered once for all checkpoints, and only this run's pages beside the index: the
    # whole site grows with every day's results.
    prune_validations(docs_root / "gx" / "uncommitted")
    context.build_data_docs(resource_identifiers=rendered)
    docs = docs_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    make_offline(docs.parent)
    return outcomes, docs


def prune_validations(uncommitted: Path, keep: int = VALIDATIONS_KEPT) -> int:
    """Keep the newest `keep` validation results of each checkpoint, stored and rendered
    (GX lays them out as <checkpoint>/<run name>/<run time>/); returns how many went."""
    removed = 0
    for store in (
        uncommitted / "validations",
        uncommitted / "data_docs" / "local_site" / "validations",
    ):
        if not store.is_dir():
            continue
        for checkpoint in (p for p in store.iterdir() if p.is_dir()):
            runs = sorted(
                (run for name in checkpoint.iterdir() if name.is_dir() for run in name.iterdir()),
                key=lambda run: run.name,  # run times: 20261130T013000.000000Z
            )
            for run in runs[: max(len(runs) - keep, 0)]:
                shutil.rmtree(run) if run.is_dir() else run.unlink()
                if not any(run.parent.iterdir()):
                    run.parent.rmdir()
                removed += 1
    return removed


def _columns_checked(frame, group: list[Check]):
    """The pandas frame cut to the columns its checks read. GX's pandas engine copies the
    whole frame to drop nulls for every column metric: 3.5 of the 9 s of customer_features'
    checks at a million customers went to copying columns no check reads."""
    if not isinstance(frame, pd.DataFrame):
        return frame
    read = set()
    for check in group:
        column = getattr(check.expectation, "column", None)
        if column is not None:
            read |= {column, check.subject} - {None}
        elif not isinstance(check.expectation, gx.expectations.ExpectTableRowCountToEqual):
            return frame  # it may read any column
    return frame[[c for c in frame.columns if c in read]] if read else frame


def _with_subject(frame: pd.DataFrame, check: Check, values: list) -> list[dict]:
    """Unexpected values with what each is about (the feature, parameter or segment)."""
    column = check.expectation.column
    rows = frame[frame[column].isin(values)][[check.subject, column]]
    return rows.head(len(values)).to_dict("records")


def _head(frame, rows: int = 5) -> list[dict]:
    """The first rows of a pandas or Spark dataframe, as records."""
    if not isinstance(frame, pd.DataFrame):
        frame = frame.limit(rows).toPandas()
    return frame.head(rows).to_dict("records")


def run_gate(
    warehouse: Path,
    exports: Path,
    settings: GateSettings | None = None,
    marts: Collection[str] | None = None,
    target: str = "duckdb",
) -> GateResult:
    """Every check, or those guarding the given marts (see GUARDED_MART); on the Spark
    target the datasets are Spark dataframes."""
    settings = settings or GateSettings.from_env()
    prepare(warehouse)
    names = {d for d, mart in GUARDED_MART.items() if marts is None or mart in marts}
    reports = access_reports_folder(warehouse)
    if "unsent_removes" in names:
        # The change set is computed where the export computes it: in the state file.
        copy_to_state(warehouse, target, export_inputs())
    with connect(warehouse, read_only=True) as con:
        if target == "spark":
            spark = session(SparkSettings.for_warehouse(warehouse))
            frames = load_spark_datasets(
                spark, con, exports, settings, names, published_path(warehouse), reports
            )
        else:
            frames = load_datasets(
                con, exports, settings, names, published_path(warehouse), reports
            )

    def rows(sql: str) -> list[tuple]:
        return read_rows(warehouse, sql, target)

    # The vocabulary as tags are given: a family's tags (likely-<category>-buyer) one by one.
    vocabulary = ref("int_tags__vocabulary")
    active = [t for (t,) in rows(f"select tag from {vocabulary} where status = 'active'")]
    retired = [
        t
        for (t,) in rows(
            f"select alias from {ref('tag_synonyms')} "
            f"union select tag from {vocabulary} where status <> 'active'"
        )
    ]
    as_of = rows(f"select as_of_date from {ref('build_info')}")[0][0]
    selected = [c for c in checks(settings, active, retired) if c.dataset in names]
    outcomes, docs = validate(frames, selected, warehouse.parent / "quality", f"as-of-{as_of}")
    result = GateResult(uuid.uuid4().hex, outcomes, docs)
    now = datetime.now(UTC).replace(tzinfo=None)
    build = rows(build_sql())[0]
    verdicts = {
        mart: not any(o.check.dataset in names and GUARDED_MART[o.check.dataset] == mart
                      for o in result.errors)
        for mart in {GUARDED_MART[name] for name in names}
    }  # fmt: skip
    with connect(warehouse) as con:
        record_verdicts(con, build, verdicts)
        con.executemany(
            f"insert into {source('quality', 'validation_results')} "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    result.run_id,
                    now,
                    as_of,
                    o.check.suite,
                    o.check.dataset,
                    type(o.check.expectation).__name__,
                    o.check.description,
                    o.check.severity,
                    o.success,
                    o.unexpected_count,
                    json.dumps(o.sample, default=str)[:2000],
                )
                for o in outcomes
            ],
        )
    return result


def record_good_run(warehouse: Path) -> None:
    """After a release: the segment sizes and feature distributions the next gate compares
    with (the model's fits keep their own history)."""
    with connect(warehouse) as con:
        con.execute("begin transaction")
        con.execute(f"delete from {source('quality', 'last_good_segment_sizes')}")
        con.execute(
            f"insert into {source('quality', 'last_good_segment_sizes')} "
            f"select segment, count(*), max(as_of_date) from {ref('segment_membership')} group by all"
        )
        con.execute(f"delete from {source('quality', 'last_good_feature_stats')}")
        con.execute(
            f"insert into {source('quality', 'last_good_feature_stats')} "
            "select feature, mean, sd, customers, "
            f"(select max(as_of_date) from {ref('customer_features')}) from ({feature_stats_sql()})"
        )
        con.execute("commit")
