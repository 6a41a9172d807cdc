"""The identity step of a run as of D: the identity catalog's probabilistic rule (SPEC 3.1).

Reads the rule's fields of every current record as of D (dbt's int_identity__match_candidates:
blocklisted values empty, people objecting to profiling left out), trains a Fellegi-Sunter
model with Splink on exactly those records (u by random sampling, m by expectation
maximisation on each blocking rule: no labels), scores the pairs the blocking rules make
and keeps those at or above the threshold in model.identity_matches, with what agreed.
dbt then links them (identity_links) after the deterministic rules, within the limits.

Splink runs on a private in-memory DuckDB whatever the target: the records are read
through the target's engine and the pairs written back to it, so both engines merge the
same people.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from tagwise.catalog.identity import COMPARISON_KINDS
from tagwise.relations import ref, source
from tagwise.spark import SparkSettings, session
from tagwise.warehouse import connect

# How a field is compared, unless the rule's `compare` says otherwise: names and places
# by Jaro-Winkler similarity, codes and dates by edit distance, a country exactly.
TEXT, CODE, EXACT = COMPARISON_KINDS
DEFAULT_KINDS = {
    "first_name": TEXT,
    "last_name": TEXT,
    "city": TEXT,
    "region": EXACT,
    "country": EXACT,
    "email": CODE,
    "phone": CODE,
    "birth_date": CODE,
    "postal_code": CODE,
}
JARO_WINKLER_THRESHOLDS = (0.9, 0.7)
EDIT_DISTANCE_THRESHOLDS = (1, 2)
# Record pairs drawn to estimate how often fields agree by chance (Splink's u), with a
# fixed seed: the same records give the same model.
U_SAMPLE_PAIRS = 5_000_000
SEED = 1
# The dbt model the step reads: a build runs everything upstream of it, then the step.
MATCH_INPUTS = ("int_identity__match_candidates",)
# The dbt selector of what the identity step reads and everything it is built from.
MATCH_INPUTS_SELECTOR = " ".join(f"+{name}" for name in MATCH_INPUTS)
MATCH_COLUMNS = (
    "customer_id",
    "linked_customer_id",
    "rule",
    "match_probability",
    "matched_values",
    "as_of_date",
)


@dataclass(frozen=True)
class MatchRun:
    """What the identity step did as of D."""

    as_of: date
    rule: str
    records: int
    matches: int
    seconds: float
    note: str


def field_kind(rule: dict, field: str) -> str:
    return (rule.get("compare") or {}).get(field) or DEFAULT_KINDS.get(field, CODE)


def comparisons(rule: dict) -> list:
    import splink.comparison_library as cl

    made = []
    for field in rule["fields"]:
        kind = field_kind(rule, field)
        if kind == TEXT:
            made.append(cl.JaroWinklerAtThresholds(field, list(JARO_WINKLER_THRESHOLDS)))
        elif kind == CODE:
            made.append(cl.LevenshteinAtThresholds(field, list(EDIT_DISTANCE_THRESHOLDS)))
        else:
            made.append(cl.ExactMatch(field))
    return made


def splink_settings(rule: dict):
    """The Splink settings the rule declares: its comparisons and blocking rules."""
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="customer_id",
        comparisons=comparisons(rule),
        blocking_rules_to_generate_predictions=[block_on(*fields) for fields in rule["blocking"]],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


def train_and_score(records: pa.Table, rule: dict) -> tuple[pa.Table, str]:
    """Pairs of `records` (customer_id and the rule's fields) the trained model scores at
    or above the rule's threshold: customer_id, linked_customer_id, match_probability and
    matched_values. The note says what was done, or why nothing was matched."""
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    empty = pa.table(
        {
            "customer_id": pa.array([], pa.string()),
            "linked_customer_id": pa.array([], pa.string()),
            "match_probability": pa.array([], pa.float64()),
            "matched_values": pa.array([], pa.string()),
        }
    )
    if records.num_rows < 3:
        return empty, f"{records.num_rows} record(s) to compare: nothing matched"
    con = duckdb.connect()
    try:
        api = DuckDBAPI(con)
        linker = Linker(api.register(records), splink_settings(rule), log_level=None)
        pairs = records.num_rows * (records.num_rows - 1) // 2
        linker.training.estimate_u_using_random_sampling(
            max_pairs=min(U_SAMPLE_PAIRS, pairs), seed=SEED
        )
        for fields in rule["blocking"]:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*fields))
        scored = linker.inference.predict(
            threshold_match_probability=rule["threshold"]
        ).as_pyarrow_table()
    except Exception as error:  # Splink's own errors, e.g. EM with no pairs under a rule
        return (
            empty,
            f"the model could not be trained ({type(error).__name__}: {error}); nothing matched",
        )
    finally:
        con.close()
    return _evidence(scored, rule, linker), (
        f"{records.num_rows:,} records compared; {scored.num_rows:,} pairs at or above "
        f"{rule['threshold']}"
    )


def _evidence(scored: pa.Table, rule: dict, linker) -> pa.Table:
    """Each pair with what agreed, strongest first: `field: how (value)`."""
    labels = {
        comparison.output_column_name: {
            level.comparison_vector_value: _short_label(
                level.label_for_charts, comparison.output_column_name
            )
            for level in comparison.comparison_levels
        }
        for comparison in linker._settings_obj.comparisons
    }
    rows = scored.to_pylist()
    left, right, probability, evidence = [], [], [], []
    for row in rows:
        agreed = []
        for field in rule["fields"]:
            level = row.get(f"gamma_{field}")
            if level is None or level <= 0:
                continue
            value_l, value_r = row.get(f"{field}_l"), row.get(f"{field}_r")
            shown = value_l if value_l == value_r else f"{value_l} / {value_r}"
            agreed.append(
                (row.get(f"bf_{field}") or 0.0, f"{field}: {labels[field][level]} ({shown})")
            )
        pair = sorted((row["customer_id_l"], row["customer_id_r"]))
        left.append(pair[0])
        right.append(pair[1])
        probability.append(float(row["match_probability"]))
        evidence.append("; ".join(text for _, text in sorted(agreed, key=lambda a: -a[0])))
    return pa.table(
        {
            "customer_id": pa.array(left, pa.string()),
            "linked_customer_id": pa.array(right, pa.string()),
            "match_probability": pa.array(probability, pa.float64()),
            "matched_values": pa.array(evidence, pa.string()),
        }
    )


def _short_label(label: str, field: str) -> str:
    """Splink's chart label of a comparison level, without the field's name."""
    text = label.replace(f" of {field}", "").replace(f" on {field}", "").lower()
    return text.replace("jaro-winkler distance", "jaro-winkler").replace(
        "levenshtein distance", "edit distance"
    )


def candidates_sql(rule: dict) -> str:
    fields = ", ".join(rule["fields"])
    candidates = ref("int_identity__match_candidates")
    return f"select customer_id, {fields} from {candidates} order by customer_id"


def match_identities(warehouse: Path, as_of: date, rule: dict, target: str = "duckdb") -> MatchRun:
    """Train and score as of D on the build's candidates; replace model.identity_matches."""
    started = time.monotonic()
    if target == "spark":
        spark = session(SparkSettings.for_warehouse(warehouse))
        records = spark.sql(candidates_sql(rule)).toArrow()
    else:
        with connect(warehouse, read_only=True) as con:
            records = con.sql(candidates_sql(rule)).to_arrow_table()
    matches, note = train_and_score(records, rule)
    rows = matches.append_column("rule", pa.array([rule["rule"]] * matches.num_rows, pa.string()))
    rows = rows.append_column("as_of_date", pa.array([as_of] * matches.num_rows, pa.date32()))
    rows = rows.select(list(MATCH_COLUMNS))
    table = source("model", "identity_matches")
    columns = ", ".join(MATCH_COLUMNS)
    if target == "spark":
        if rows.num_rows:
            spark.createDataFrame(rows.to_pandas()).createOrReplaceTempView("identity_match_rows")
            spark.sql(f"insert overwrite table {table} select {columns} from identity_match_rows")
        else:
            spark.sql(f"truncate table {table}")
    else:
        with connect(warehouse) as con:
            con.register("identity_match_rows", rows)
            con.execute("begin transaction")
            con.execute(f"delete from {table}")
            con.execute(
                f"insert into {table} ({columns}) select {columns} from identity_match_rows"
            )
            con.execute("commit")
    return MatchRun(
        as_of, rule["rule"], records.num_rows, rows.num_rows, time.monotonic() - started, note
    )
