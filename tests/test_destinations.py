"""The destination catalog's kinds (SPEC 3.7): each destination's key and fields as its
catalog entry says, its own thresholds, hashes only for ads, and erasure reaching every
destination's pending files under the key that destination uses."""

from __future__ import annotations

import json

import pytest
from conftest import record_erasure, sha256, use_destinations

from tagwise.activation.changes import ExportError, HoldThresholds, create_state_tables
from tagwise.activation.destinations import destination_keys, destinations
from tagwise.activation.kinds import Destination
from tagwise.activation.redaction import erase_from_exports
from tagwise.activation.syncs import export
from tagwise.erasure import identifier_hashes
from tagwise.quality import erased_in_export_files
from tagwise.summary import destination_reach
from tagwise.warehouse import connect


def audiences(con, rows: list[tuple]) -> None:
    """marts.destination_audiences as dbt builds it: (destination, key, first_name,
    primary_segment, phone_sha256) per row, the other fields null."""
    con.execute(
        "create or replace table marts.destination_audiences (destination varchar, key varchar, "
        "first_name varchar, last_name varchar, primary_segment varchar, audiences varchar, "
        "tags varchar, updated_on date, phone_sha256 varchar)"
    )
    con.executemany(
        "insert into marts.destination_audiences (destination, key, first_name, "
        "primary_segment, audiences, updated_on, phone_sha256) "
        "values (?, ?, ?, ?, '', date '2026-05-02', ?)",
        rows,
    )


A, B = "a@x.test", "b@x.test"
A_PHONE, B_PHONE = "+15550000001", "+15550000002"
ROWS = [
    ("sms", A_PHONE, "Ann", "champions", None),
    ("sms", B_PHONE, "Bo", "champions", None),
    ("ads", sha256(A), None, None, sha256(A_PHONE)),
    ("ads", sha256(B), None, None, None),
]


@pytest.fixture
def sent(gated, tmp_path):
    """The sms and ads destinations' first syncs, sent and not acknowledged."""
    with connect(gated) as con:
        audiences(con, ROWS)
    exports = tmp_path / "exports"
    syncs = {d: export(gated, d, exports) for d in ("sms", "ads")}
    return gated, exports, syncs


def test_each_destination_sends_its_key_and_only_the_fields_its_entry_lists(sent):
    syncs = sent[2]
    sms_rows = [json.loads(line) for line in syncs["sms"].files[1].read_text().splitlines()]
    assert sms_rows[0] == {
        "change": "add",
        "phone": A_PHONE,
        "row": {
            "audiences": [],
            "first_name": "Ann",
            "primary_segment": "champions",
            "updated_on": "2026-05-02",
        },
        "sync_id": syncs["sms"].sync_id,
    }
    header = syncs["ads"].files[0].read_text().splitlines()[0]
    assert header == "sync_id,email_sha256,change,phone_sha256"


def test_no_clear_text_identifier_leaves_for_an_ads_destination(sent):
    syncs = sent[2]
    text = "".join(path.read_text() for path in syncs["ads"].files)
    for clear in (A, B, A_PHONE, B_PHONE, "Ann", "@"):
        assert clear not in text
    assert sha256(A) in text and sha256(A_PHONE) in text


def test_erasure_reaches_every_destinations_pending_files_under_its_own_key(sent):
    """A was erased: their phone leaves the sms files and their address hash the ads
    files, but for the removes the next syncs carry; B stays everywhere."""
    warehouse, exports, syncs = sent
    record_erasure(warehouse, A, phones=(A_PHONE,))
    erased = identifier_hashes("email", A) | identifier_hashes("phone", A_PHONE)
    found_before = erased_in_export_files(erased, exports)
    assert set(found_before["identifier_sha256"]) == {sha256(A_PHONE), sha256(A)}
    # A's row of each of the four files holding adds of each destination's sync (the
    # change feed in CSV and JSON Lines, the audience, the platform import file).
    assert erase_from_exports(warehouse, exports) == 8
    assert erased_in_export_files(erased, exports).empty
    for sync in syncs.values():
        assert all(path.exists() for path in sync.files)
    assert B_PHONE in syncs["sms"].files[2].read_text()
    assert sha256(B) in syncs["ads"].files[2].read_text()
    with connect(warehouse) as con:
        audiences(con, [row for row in ROWS if row[1] not in (A_PHONE, sha256(A))])
    removes = {d: export(warehouse, d, exports) for d in ("sms", "ads")}
    assert removes["sms"].removes == removes["ads"].removes == 1
    assert f",{A_PHONE},remove," in removes["sms"].files[0].read_text()
    with connect(warehouse, read_only=True) as con:
        applied = {
            h for (h,) in con.execute("select key_sha256 from export.erasures_applied").fetchall()
        }
        logged = con.execute(
            "select destination, key, key_sha256 from export.sync_log where key is null order by 1"
        ).fetchall()
    # Each key is done once, by its hash: the address (email, webhook), its hash (ads), the phone.
    assert applied == {sha256(A), sha256(sha256(A)), sha256(A_PHONE)}
    # The add sent before the erasure and the remove sent after it: hashes only (rule 5).
    assert logged == [("ads", None, sha256(sha256(A)))] * 2 + [("sms", None, sha256(A_PHONE))] * 2


def test_a_destinations_catalog_thresholds_replace_the_settings(setting):
    setting("TAGWISE_SYNC_HOLD_SHARE", "0.5")
    setting("TAGWISE_SYNC_HOLD_MIN_PEOPLE", "7")
    sms = Destination("sms", "sms", (), (("sms", "marketing"),), hold_share=0.3)
    assert HoldThresholds.for_destination(sms) == HoldThresholds(0.3, 7)
    assert destinations()["sms"].hold_share == 0.3  # the shipped catalog's


def test_an_unknown_destination_is_refused_naming_the_catalogs(gated, tmp_path):
    with pytest.raises(ExportError, match="the destination catalog has: email, webhook, sms, ads"):
        export(gated, "fax", tmp_path / "exports")


def test_the_run_summary_says_why_the_people_a_destination_selects_are_not_sent(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        con.execute("create schema restricted")
        con.execute(
            "create table restricted.destination_eligibility as select * from (values "
            "('sms', 'k1', true, null), ('sms', 'k2', false, 'no phone'), "
            "('sms', 'k3', false, 'phone cannot be normalised to E.164'), "
            "('sms', 'k4', false, 'no phone'), ('ads', 'k1', true, null)) "
            "as t(destination, customer_key, is_eligible, not_eligible_because)"
        )
    assert destination_reach(warehouse) == [
        ("ads", 1, 1, ""),
        ("sms", 4, 1, "no phone 2, phone cannot be normalised to E.164 1"),
    ]


def test_a_kind_that_writes_files_is_one_declaration(gated, tmp_path, monkeypatch):
    """Issue 41: a new file-writing kind is one entry of dbt_project.yml's
    destination_kinds (here added in memory, as the YAML would read): its destinations
    pass the catalog check, and their exports carry its key and its platform headers."""
    import yaml

    from tagwise.activation import kinds
    from tagwise.catalog import destination_problems

    entry = yaml.safe_load(
        """
        key: phone
        identifier: phone
        fields: [first_name]
        consent: [[sms, marketing]]
        import_headers: {phone: Mobile, first_name: Name}
        """
    )
    monkeypatch.setitem(kinds.destination_kinds(), "push", kinds.Kind.from_var(entry))
    catalog = {
        "destination": "push",
        "kind": "push",
        "consent": [["sms", "marketing"]],
        "selects": {"segments": ["champions"]},
        "fields": ["first_name"],
    }
    assert (
        destination_problems(
            {"destinations": [catalog]},
            {"segments": {"champions"}, "audiences": set(), "generated": set()},
        )
        == []
    )
    push = Destination.from_entry(catalog)
    use_destinations(monkeypatch, lambda: {"push": push})
    with connect(gated) as con:
        create_state_tables(con)
        audiences(con, [("push", A_PHONE, "Ann", "champions", None)])
    sync = export(gated, "push", tmp_path / "exports")
    written = {path.name.replace(sync.sync_id, ""): path.read_text() for path in sync.files}
    assert written["import-.csv"] == f"Mobile,Name\n{A_PHONE},Ann\n"
    assert written["remove-.csv"] == "Mobile\n"
    assert written["changes-.csv"].startswith("sync_id,phone,change,first_name\n")
    assert destination_keys([("phone", A_PHONE)], {"push"}) == {A_PHONE}
