"""Identity resolution end to end (SPEC 3.1): FEBRL4 through a deployment folder with the
example catalog, measured against the data set's true links and Splink's own result with
the same settings; and junk identifiers shared by hundreds, a withdrawal on one merged
record and an erasure by another, through a catalog with an email and a phone rule."""

from __future__ import annotations

import csv
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml
from test_readme import RUN_BY_THE_IDENTITY_TEST, newcomers_environment, readme_commands

from tagwise.febrl import true_pairs
from tagwise.identity.matching import MATCH_COLUMNS, SEED, U_SAMPLE_PAIRS, splink_settings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TAGWISE = Path(sys.executable).with_name("tagwise")
EXAMPLE = ROOT / "examples" / "identity" / "febrl.yml"
LATER = "2020-03-01 00:00:00"  # after D: records that must be neither fitted nor linked


def _shell(command: str) -> subprocess.CompletedProcess:
    """A command run from the repository as a newcomer's shell runs it."""
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=newcomers_environment(), capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, command + "\n" + done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _tagwise(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return _shell(" ".join([str(TAGWISE), "--project", str(folder), *args]))


def _deployment(root: Path, catalog_text: str) -> Path:
    folder = root / "team"
    subprocess.run([str(TAGWISE), "init", str(folder)], check=True, capture_output=True)
    (folder / "catalogs" / "identity_catalog.yml").write_text(catalog_text)
    return folder


def _run(folder: Path, as_of: str) -> tuple[Path, str]:
    """The folder's daily run as of a day: its warehouse and what it printed."""
    data = folder / "data"
    done = _tagwise(
        folder, "run", "--landing", str(data / "landing"), "--warehouse",
        str(data / "warehouse.duckdb"), "--exports", str(data / "exports"), "--as-of", as_of,
    )  # fmt: skip
    return data / "warehouse.duckdb", done.stdout + done.stderr


def pairwise_scores(found: set, truth: set) -> tuple[float, float, float]:
    true_positives = len(found & truth)
    precision, recall = true_positives / len(found), true_positives / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall)


def pairs_of_clusters(members: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {pair for ids in members.values() for pair in itertools.combinations(sorted(ids), 2)}


def readme_febrl_commands(folder: Path) -> list[str]:
    """The README's FEBRL example, on this test's folder."""
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    found = [c for c in commands if RUN_BY_THE_IDENTITY_TEST in c]
    assert [c.split()[0] for c in found] == [
        ".venv/bin/tagwise",
        "cp",
        ".venv/bin/tagwise",
        ".venv/bin/tagwise",
    ]
    return [c.replace(RUN_BY_THE_IDENTITY_TEST, str(folder)) for c in found]


@pytest.fixture(scope="module")
def febrl(tmp_path_factory):
    folder = tmp_path_factory.mktemp("febrl") / "team"
    *prepare, run = readme_febrl_commands(folder)
    for command in prepare:
        _shell(command)
    landing = folder / "data" / "landing"
    # Fifty records recorded after D, each a copy of one of D's with a new id: a model
    # fitted on them would link them and shift its parameters.
    customers = landing / "customers" / "febrl4.csv"
    with customers.open(newline="") as stream:
        rows = list(csv.reader(stream))
    later = [[f"later-{row[0]}", *row[1:10], LATER, LATER] for row in rows[1:51]]
    with (landing / "customers" / "later.csv").open("w", newline="") as stream:
        csv.writer(stream).writerows([rows[0], *later])
    _shell(run)
    warehouse = folder / "data" / "warehouse.duckdb"
    return folder, warehouse, [row[0] for row in rows[1:]], [row[0] for row in later]


def _splinks_own(ids: list[str], folder: Path) -> tuple[pa.Table, set]:
    """Splink on the records known at D, with the example catalog's settings, clustered by
    Splink itself: its pairs and probabilities, and the pairs of its clusters."""
    import duckdb as local
    from splink import DuckDBAPI, Linker, block_on

    rule = yaml.safe_load(EXAMPLE.read_text())["models"][0]["config"]["meta"]["probabilistic"]
    customers = folder / "data" / "landing" / "customers" / "febrl4.csv"
    with customers.open(newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["customer_id"] in set(ids)]
    records = pa.table(
        {
            "customer_id": [r["customer_id"] for r in rows],
            **{f: [r[f].strip().lower() or None for r in rows] for f in rule["fields"]},
        }
    )
    linker = Linker(
        DuckDBAPI(local.connect()).register(records), splink_settings(rule), log_level=None
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=min(U_SAMPLE_PAIRS, len(rows) * (len(rows) - 1) // 2), seed=SEED
    )
    for fields in rule["blocking"]:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*fields))
    predictions = linker.inference.predict(threshold_match_probability=rule["threshold"])
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, rule["threshold"]
    ).as_pyarrow_table()
    members: dict[str, list[str]] = {}
    for cluster, customer_id in zip(
        clusters["cluster_id"].to_pylist(), clusters["customer_id"].to_pylist(), strict=True
    ):
        members.setdefault(cluster, []).append(customer_id)
    return predictions.as_pyarrow_table(), pairs_of_clusters(members)


def test_febrl4_is_resolved_as_well_as_splink_resolves_it_and_nothing_after_d_is_used(febrl):
    folder, warehouse, ids, later = febrl
    with duckdb.connect(str(warehouse), read_only=True) as con:
        clusters = con.sql(
            "select customer_id, customer_key from restricted.int_identity__clusters"
        ).fetchall()
        linked = con.sql(
            "select customer_id, linked_customer_id from restricted.identity_links"
        ).fetchall()
        matches = con.sql(
            f"select {', '.join(MATCH_COLUMNS)} from model.identity_matches"
        ).to_arrow_table()
    members: dict[str, list[str]] = {}
    for customer_id, key in clusters:
        members.setdefault(key, []).append(customer_id)
    truth = true_pairs(ids)
    precision, recall, f1 = pairwise_scores(pairs_of_clusters(members), truth)
    print(f"FEBRL4 tagwise: precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}")
    assert f1 >= 0.95

    predicted, splink_pairs = _splinks_own(ids, folder)
    own = pairwise_scores(splink_pairs, truth)
    print(f"FEBRL4 Splink's own: precision {own[0]:.4f} recall {own[1]:.4f} F1 {own[2]:.4f}")
    assert abs(f1 - own[2]) <= 0.01

    # Fitted on D's records alone: the records recorded later are nowhere, and every pair
    # scores as Splink scores it on exactly D's records.
    assert not set(later) & {customer_id for customer_id, _ in clusters}
    assert not set(later) & {end for pair in linked for end in pair}
    expected = {
        tuple(sorted(pair)): probability
        for *pair, probability in zip(
            predicted["customer_id_l"].to_pylist(),
            predicted["customer_id_r"].to_pylist(),
            predicted["match_probability"].to_pylist(),
            strict=True,
        )
    }
    actual = dict(
        zip(
            zip(
                matches["customer_id"].to_pylist(),
                matches["linked_customer_id"].to_pylist(),
                strict=True,
            ),
            matches["match_probability"].to_pylist(),
            strict=True,
        )
    )
    assert actual.keys() == expected.keys()
    assert all(abs(actual[pair] - expected[pair]) < 1e-9 for pair in actual)


def test_identity_models_join_by_equality_only(febrl):
    """DuckDB compares every row with every row for a join on either of two conditions (a
    blockwise nested loop): int_identity__match_candidates, joining consent changes to
    records by id or email, had not finished after 3 minutes at 1,000,000 customers; as
    two equality joins it takes 2 s. Every identity model of the run, planned on its
    warehouse, joins by hash."""
    folder, warehouse, _ids, _later = febrl
    compiled = sorted(
        folder.glob(
            ".tagwise/dbt_project/target/runs/*/compiled/tagwise/models/restricted/identity/*.sql"
        )
    )
    assert {"int_identity__match_candidates", "int_identity__privacy_requests"} <= {
        path.stem for path in compiled
    }
    loops = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for path in compiled:
            plan = "\n".join(
                row[1] for row in con.execute("explain " + path.read_text()).fetchall()
            )
            found = {"Blockwise Nl Join", "Nested Loop Join"} & set(
                re.findall(r"─ ([A-Za-z ]+?) ─", plan)
            )
            if found:
                loops[path.stem] = sorted(found)
    assert loops == {}


def test_explain_says_why_a_febrl_record_merged(febrl):
    folder, warehouse, _, _ = febrl
    done = _tagwise(folder, "explain", "rec-1070-org", "--warehouse", str(warehouse), "--json")
    identity = json.loads(done.stdout)["identity"]
    assert identity["records"] == ["rec-1070-dup-0", "rec-1070-org"]
    [link] = identity["links"]
    assert link["rule"] == "likely-same-person" and link["match_probability"] >= 0.95
    assert "soc_sec_id: " in link["matched_values"]


# The junk scenario: 20,000 records, 1% each holding a junk value (test@test.com, the
# shop's phone, 0000000000, the email "null"), 200 people who signed up twice with
# another email and the same phone.
PEOPLE = 20_000
SHOP_PHONE = "+12025550100"
JUNK = {
    1: ("email", "test@test.com"),
    2: ("phone", SHOP_PHONE),
    3: ("phone", "0000000000"),
    4: ("email", "null"),
}
TWICE = [10_005 + 10 * i for i in range(200)]  # never a junk holder (i % 100 in 1..4)
WITHDREW, ERASED = TWICE[0], TWICE[1]
HEADER = "customer_id,email,phone,first_name,last_name,signup_at,updated_at"


def _phone(i: int) -> str:
    return f"+1201{200 + i // 10_000}{i % 10_000:04d}"


@pytest.fixture(scope="module")
def junk(tmp_path_factory):
    root = tmp_path_factory.mktemp("junk")
    document = yaml.safe_load(
        (ROOT / "dbt_project/models/restricted/identity/identity_catalog.yml").read_text()
    )
    document["models"][0]["config"]["meta"]["rules"] = [
        {"rule": "same-email", "match": ["email"]},
        {"rule": "same-phone", "match": ["phone"]},
    ]
    folder = _deployment(root, yaml.safe_dump(document, sort_keys=False))
    landing = folder / "data" / "landing"
    rows = []
    for i in range(1, PEOPLE + 1):
        email, phone = f"p{i}@x.test", _phone(i)
        kind, value = JUNK.get(i % 100, (None, None))
        email = value if kind == "email" else email
        phone = value if kind == "phone" else phone
        rows.append(f"C{i},{email},{phone},P{i},Q{i},2025-01-01,2025-01-01")
    rows += [f"D{i},other{i}@y.test,{_phone(i)},P{i},Q{i},2025-02-01,2025-02-01" for i in TWICE]
    (landing / "customers" / "c.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    (landing / "orders" / "o.csv").write_text("order_id,customer_id,ordered_at,status\n")
    (landing / "order_lines" / "l.csv").write_text(
        "order_id,line_no,product_id,quantity,unit_price\n"
    )
    (landing / "consent_events" / "k.csv").write_text(
        "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
        f"K1,C{WITHDREW},,email,marketing,withdrawn,form,2025-03-01\n"
        f"K2,D{WITHDREW},,email,marketing,granted,form,2025-04-01\n"
    )
    (landing / "privacy_requests" / "r.csv").write_text(
        f"request_id,customer_id,email,request_type,received_at\nR1,D{ERASED},,erasure,2025-05-01\n"
    )
    return _run(folder, "2025-06-30")


def test_junk_shared_by_hundreds_merges_no_one_and_is_reported(junk):
    warehouse, printed = junk
    with duckdb.connect(str(warehouse), read_only=True) as con:
        largest = con.execute(
            "select max(n) from (select count(*) as n from restricted.int_identity__clusters "
            "group by customer_key)"
        ).fetchone()[0]
        guarded = con.execute(
            "select guard, identifier_or_rule, guarded_value, source_customer_ids "
            "from restricted.identity_guarded_values"
        ).fetchall()
        merged = con.execute(
            "select customer_id, anchor_customer_id from restricted.int_identity__clusters "
            "where customer_id like 'D%'"
        ).fetchall()
        people = con.execute(
            "select count(distinct customer_key) from restricted.int_identity__people"
        ).fetchone()[0]
    assert largest == 2  # the limit (5) holds: only the people who signed up twice merged
    assert ("blocklist", "email", "test@test.com", 200) in guarded
    assert ("limit", "same-phone", f"phone={SHOP_PHONE}", 200) in guarded
    # Every second record joined its first, whose key it took; the erased person is gone.
    assert sorted(merged) == sorted((f"D{i}", f"C{i}") for i in TWICE if i != ERASED)
    assert people == PEOPLE - 1
    # The run names what its guards stopped, the largest first.
    assert "identity guards kept" in printed
    assert "test@test.com (email, blocklist: 200 records)" in " ".join(printed.split())


def test_a_withdrawal_on_one_merged_record_binds_the_person_and_erasure_by_one_removes_both(junk):
    warehouse, _ = junk
    with duckdb.connect(str(warehouse), read_only=True) as con:
        key = con.execute(
            f"select customer_key from restricted.int_identity__people where customer_id = 'D{WITHDREW}'"
        ).fetchone()[0]
        marketable, reason = con.execute(
            "select is_email_marketable, not_marketable_because "
            f"from restricted.customer_email_marketability where customer_key = '{key}'"
        ).fetchone()
        erased_left = con.execute(
            "select count(*) from restricted.int_identity__people "
            f"where customer_id in ('C{ERASED}', 'D{ERASED}')"
        ).fetchone()[0]
        in_dim = con.execute(
            f"select count(*) from marts.dim_customers where source_customer_ids like '%C{ERASED}%'"
        ).fetchone()[0]
    assert (marketable, reason) == (False, "email marketing consent withdrawn")
    assert erased_left == 0 and in_dim == 0
