"""The identity catalog (SPEC 3.1): what `tagwise check` refuses, the shipped default, the
FEBRL example, and deployment folders made before the catalog existed."""

from __future__ import annotations

import copy
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from tagwise import project
from tagwise.catalog import CatalogError, check_identity_catalog, identity_problems
from tagwise.contract import SOURCES
from tagwise.febrl import import_febrl, person_of, true_pairs
from tagwise.identity.matching import train_and_score
from tagwise.project import OWNED, assemble, init, shipped

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "identity" / "febrl.yml"
CUSTOMERS = frozenset(
    column.name for source in SOURCES if source.name == "customers" for column in source.columns
)
GOOD = {
    "extra_identifiers": ["loyalty_card"],
    "rules": [
        {"rule": "same-email", "match": ["email"]},
        {"rule": "same-card-and-name", "match": ["loyalty_card", "last_name"]},
    ],
    "probabilistic": {
        "rule": "likely-same-person",
        "fields": ["first_name", "last_name", "birth_date", "postal_code"],
        "compare": {"postal_code": "exact"},
        "blocking": [["postal_code"], ["birth_date"]],
        "threshold": 0.9,
    },
    "blocklist": {
        "values": ["test@test.com"],
        "patterns": ["^no-?reply@"],
        "repeated_digits": True,
    },
    "limits": {"default": 5, "loyalty_card": 3},
}


def test_the_shipped_default_is_the_email_rule_with_the_spec_guards():
    meta = check_identity_catalog()
    assert meta["rules"] == [{"rule": "same-email", "match": ["email"]}]
    assert not meta.get("probabilistic") and meta["limits"] == {"default": 5}
    blocked = meta["blocklist"]
    assert {"", "null", "none", "unknown", "n/a", "test@test.com"} <= set(blocked["values"])
    assert blocked["repeated_digits"] and any("reply@" in p for p in blocked["patterns"])


def test_the_febrl_example_is_valid_and_names_its_extra_columns():
    meta = check_identity_catalog(EXAMPLE)
    assert meta["extra_identifiers"] == ["soc_sec_id", "street"]
    assert set(meta["probabilistic"]["fields"]) >= {"soc_sec_id", "street"}


def test_a_good_catalog_has_no_problem():
    assert identity_problems(GOOD, CUSTOMERS) == []


def _with(change) -> dict:
    meta = copy.deepcopy(GOOD)
    change(meta)
    return meta


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["rules"].append({"rule": "x", "match": ["shoe_size"]}),
            "unknown identifier 'shoe_size'",
        ),
        (lambda m: m["rules"].append({"rule": "x", "match": ["customer_id"]}), "merges nothing"),
        (
            lambda m: m["rules"].append({"rule": "Bad Name", "match": ["email"]}),
            "rule name 'Bad Name'",
        ),
        (
            lambda m: m["rules"].append({"rule": "same-email", "match": ["phone"]}),
            "used by 2 rules",
        ),
        (lambda m: m["rules"].append({"rule": "x", "match": []}), "non-empty list"),
        (lambda m: m.update(extra_identifiers=["email"]), "contract already has"),
        (lambda m: m.update(extra_identifiers=["x; drop table"]), "not a lower-case column name"),
        (lambda m: m["blocklist"]["patterns"].append("^(\\d)\\1+$"), "back-reference"),
        (lambda m: m["blocklist"]["patterns"].append("(?=a)"), "look-around"),
        (lambda m: m["blocklist"]["patterns"].append("a*"), "matches the empty text"),
        (lambda m: m["blocklist"]["patterns"].append("(unclosed"), "not a regular expression"),
        (lambda m: m["blocklist"]["values"].append("Test@Test.com"), "write it so"),
        (lambda m: m["limits"].update(default=1), "from 2 to 1000"),
        (lambda m: m["limits"].update(shoe_size=3), "unknown identifier 'shoe_size'"),
        (lambda m: m["probabilistic"].update(threshold=1.0), "threshold 1.0"),
        (lambda m: m["probabilistic"].update(fields=["first_name"]), "at least two"),
        (lambda m: m["probabilistic"].update(blocking=[]), "blocking must be"),
        (lambda m: m["probabilistic"].update(compare={"city": "text"}), "not among its fields"),
        (
            lambda m: m["probabilistic"].update(compare={"postal_code": "fuzzy"}),
            "'fuzzy' is not one of",
        ),
        (lambda m: m["probabilistic"].update(rule="same-email"), "a deterministic rule's"),
        (lambda m: m.update(merge_everyone=True), "unknown key 'merge_everyone'"),
    ],
)
def test_each_mistake_is_named(change, message):
    problems = identity_problems(_with(change), CUSTOMERS)
    assert any(message in problem for problem in problems), problems


def test_a_bad_catalog_file_is_refused_with_every_problem(tmp_path):
    document = yaml.safe_load(EXAMPLE.read_text())
    meta = document["models"][0]["config"]["meta"]
    meta["probabilistic"]["threshold"] = 2
    meta["rules"] = [{"rule": "x", "match": ["shoe_size"]}]
    catalog = tmp_path / "identity_catalog.yml"
    catalog.write_text(yaml.safe_dump(document))
    with pytest.raises(CatalogError) as refused:
        check_identity_catalog(catalog)
    assert str(catalog) in str(refused.value) and len(refused.value.problems) == 2


def test_init_writes_the_identity_catalog_and_an_older_folder_without_it_uses_the_default(
    tmp_path, setting
):
    folder = tmp_path / "acme"
    init(folder)
    written = folder / "catalogs" / "identity_catalog.yml"
    assert written.read_bytes() == (shipped() / OWNED["catalogs/identity_catalog.yml"]).read_bytes()
    # A folder an earlier release made has no identity catalog: the shipped one applies.
    written.unlink()
    default = shipped() / OWNED["catalogs/identity_catalog.yml"]
    used = assemble(folder) / OWNED["catalogs/identity_catalog.yml"]
    assert not used.is_symlink() and used.read_bytes() == default.read_bytes()
    setting("TAGWISE_PROJECT", str(folder))
    assert project.owned("catalogs/identity_catalog.yml") == default
    # Once the team writes its own, it is linked like the other catalogs.
    written.write_bytes(EXAMPLE.read_bytes())
    assert (
        assemble(folder) / OWNED["catalogs/identity_catalog.yml"]
    ).resolve() == written.resolve()


def test_febrl_import_maps_every_column_and_leaves_impossible_dates_empty(tmp_path):
    result = import_febrl("febrl4", tmp_path / "landing")
    assert result.records == 10_000 and result.dates_left_empty > 0
    header, *rows = result.customers_file.read_text().splitlines()
    assert header == (
        "customer_id,first_name,last_name,birth_date,postal_code,city,region,country,"
        "soc_sec_id,street,signup_at,updated_at"
    )
    first = dict(zip(header.split(","), rows[0].split(","), strict=True))
    # rec-1070-org, michaela, neumann, 8, stanley street, miami, winston hills, 4223, nsw, 19151111, 5304218
    assert first == {
        "customer_id": "rec-1070-org", "first_name": "michaela", "last_name": "neumann",
        "birth_date": "1915-11-11", "postal_code": "4223", "city": "winston hills",
        "region": "nsw", "country": "AU", "soc_sec_id": "5304218",
        "street": "8 stanley street miami", "signup_at": "2020-01-01 00:00:00",
        "updated_at": "2020-01-01 00:00:00",
    }  # fmt: skip
    assert (tmp_path / "landing" / "orders" / "orders.csv").read_text().count("\n") == 1
    ids = [row.split(",")[0] for row in rows]
    assert len(true_pairs(ids)) == 5_000 and person_of("rec-12-dup-3") == "12"


def test_the_probabilistic_rule_finds_a_typo_and_says_what_agreed():
    people = [
        ("A1", "maria", "lopez", "1980-02-03", "2000", "1234567"),
        ("A2", "mraia", "lopez", "1980-02-03", "2000", "1234567"),
        *[
            (f"B{i}", f"name{i}", f"family{i}", f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
             f"{2000 + i % 7}", f"{7000000 + i * 13}")
            for i in range(300)
        ],
    ]  # fmt: skip
    records = pa.table(
        {
            name: pa.array([p[at] for p in people], pa.string())
            for at, name in enumerate(
                (
                    "customer_id",
                    "first_name",
                    "last_name",
                    "birth_date",
                    "postal_code",
                    "soc_sec_id",
                )
            )
        }
    )
    rule = {
        "rule": "likely",
        "fields": ["first_name", "last_name", "birth_date", "postal_code", "soc_sec_id"],
        "blocking": [["postal_code"], ["birth_date"]],
        "threshold": 0.9,
    }
    matches, note = train_and_score(records, rule)
    pairs = list(
        zip(
            matches["customer_id"].to_pylist(),
            matches["linked_customer_id"].to_pylist(),
            strict=True,
        )
    )
    assert ("A1", "A2") in pairs and len(pairs) == 1, note
    evidence = matches["matched_values"][0].as_py()
    assert "first_name: jaro-winkler >= 0.9 (maria / mraia)" in evidence
    assert "soc_sec_id: exact match (1234567)" in evidence


def test_too_few_records_match_nothing_and_say_so():
    records = pa.table({"customer_id": ["A"], "first_name": ["x"], "last_name": ["y"]})
    rule = {
        "rule": "r",
        "fields": ["first_name", "last_name"],
        "blocking": [["last_name"]],
        "threshold": 0.9,
    }
    matches, note = train_and_score(records, rule)
    assert matches.num_rows == 0 and "nothing matched" in note
