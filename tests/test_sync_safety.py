"""SPEC 3.7 rule 1: a change set is computed against everything that may be at the
destination, the acknowledged state plus every sent but unacknowledged sync. Whoever
leaves (unsubscribe, withdrawal, suppression, erasure) while a sync is pending gets a
remove, and the gate never holds a release on a state that the release repairs."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli

from tagwise import export as exporting
from tagwise.export import acknowledge
from tagwise.warehouse import connect

D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)
PEOPLE = ["a1", "a2", "a3", "a4", "a5"]


@pytest.fixture
def five(landing):
    landing.write(
        "customers",
        "c.csv",
        "customer_id,email,signup_at,updated_at\n"
        + "\n".join(f"{p.upper()},{p}@x.test,2026-01-01,2026-01-01" for p in PEOPLE),
    )
    landing.buyers_who_consented([p.upper() for p in PEOPLE])
    return landing


def leave_on_day_two(landing) -> None:
    """a1 unsubscribes, a2 bounces hard, a3 withdraws, a4 asks to be erased; a5 stays."""
    landing.write(
        "email_campaigns", "m.csv", "campaign_id,name,sent_at,audience\nM1,May,2026-05-01,"
    )
    landing.write(
        "email_events",
        "e.csv",
        "event_id,campaign_id,customer_id,email,event_type,occurred_at\n"
        "E1,M1,A1,,unsubscribe,2026-05-02 08:00:00\nE2,M1,,a2@x.test,bounce_hard,2026-05-02 08:00:00",
    )
    landing.write(
        "consent_events",
        "k2.csv",
        "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
        "W3,A3,,email,marketing,withdrawn,preference_center,2026-05-02 08:00:00",
    )
    landing.write(
        "privacy_requests",
        "p.csv",
        "request_id,customer_id,email,request_type,received_at\nR4,,a4@x.test,erasure,2026-05-02",
    )


def run(landing, warehouse: Path, exports: Path, day: date):
    return run_cli(landing.root, warehouse, exports, day)


def pending_changes(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select key, change from marts.email_audience_changes where sync_id = "
                "(select sync_id from export.syncs where status = 'pending')"
            ).fetchall()
        )


@pytest.mark.e2e
def test_whoever_leaves_while_a_sync_is_pending_is_removed(five, warehouse, tmp_path):
    exports = tmp_path / "exports"
    first = run(five, warehouse, exports, D1)
    assert first.exit_code == 0, first.output
    leave_on_day_two(five)
    second = run(five, warehouse, exports, D2)
    assert second.exit_code == 0, second.output  # no gate deadlock on the erasure
    changes = pending_changes(warehouse)
    for person in ("a1", "a2", "a3", "a4"):
        assert changes.get(f"{person}@x.test") == "remove", changes
    assert changes.get("a5@x.test") == "add"  # not acknowledged yet: sent again
    text = "".join(p.read_text() for p in (exports / "email").glob("*"))
    assert "a4@x.test,remove" in text.replace("email-20260502-001,", "")
    acknowledge(warehouse, "email-20260502-001")
    third = run(five, warehouse, exports, D3)
    assert third.exit_code == 0, third.output
    assert "nothing new to send" in third.output


@pytest.mark.e2e
def test_a_key_removed_by_an_unacknowledged_sync_is_added_again(five, warehouse, tmp_path):
    """a3 withdraws (a pending remove), then grants again before anyone acknowledged."""
    exports = tmp_path / "exports"
    assert run(five, warehouse, exports, D1).exit_code == 0
    acknowledge(warehouse, "email-20260501-001")
    five.write(
        "consent_events",
        "k2.csv",
        "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
        "W3,A3,,email,marketing,withdrawn,preference_center,2026-05-02 08:00:00\n"
        "G3,A3,,email,marketing,granted,form,2026-05-03 08:00:00",
    )
    assert run(five, warehouse, exports, D2).exit_code == 0
    assert pending_changes(warehouse) == {"a3@x.test": "remove"}
    assert run(five, warehouse, exports, D3).exit_code == 0
    # The platform may have applied the remove: a3 is added again, not left out.
    assert pending_changes(warehouse) == {"a3@x.test": "add"}


# The rule of the old export: changes against the acknowledged state only.
ACKNOWLEDGED_ONLY = """
select coalesce(c.key, h.key) as key,
    case when h.key is null then 'add' when c.key is null then 'remove' else 'update' end as change,
    c.payload
from _current as c
full outer join (select key, payload from export.acknowledged where destination = $destination) as h
    on c.key = h.key
where h.key is null or c.key is null or c.payload <> h.payload
"""


def test_the_gate_check_finds_a_change_set_that_misses_a_remove(tmp_path, monkeypatch):
    """a1 was acknowledged, a2 sent and not acknowledged, a9 never sent; only a5 is still
    eligible. The check run by the gate on the change set about to leave passes the
    export's rule and names what the old rule would have left at the destination."""
    with connect(tmp_path / "w.duckdb") as con:
        exporting.prepare_state(con, "email")
        con.execute(
            "create table marts.email_audience as select 'a5@x.test' as email, 'A' as first_name, "
            "'B' as last_name, 'active' as primary_segment, [] as audiences, [] as tags, "
            "date '2026-05-02' as updated_on"
        )
        con.execute("insert into export.acknowledged values ('email', 'a1@x.test', '{}')")
        con.execute(
            "insert into export.unacknowledged_changes values "
            "('email', 's1', 'a2@x.test', 'add', '{}'), ('email', 's1', 'a9@x.test', 'remove', null)"
        )
        assert exporting.unsent_removes(con, "email") == []
        removes = con.execute("select key from _changes where change = 'remove' order by key")
        assert removes.fetchall() == [("a1@x.test",), ("a2@x.test",)]  # never a9, never sent
        monkeypatch.setattr(exporting, "changes_sql", lambda: ACKNOWLEDGED_ONLY)
        assert exporting.unsent_removes(con, "email") == [
            ("a2@x.test", "no remove for a key no longer eligible")
        ]


def test_json_lines_carry_lists_as_arrays_and_csv_as_one_documented_text(tmp_path):
    """Email platforms' list properties need arrays; the CSV keeps the sorted lists joined
    by ', ' (README, Exports); a removal carries no row."""
    import csv
    import json

    from expectations.suites import GUARDED_MARTS
    from tagwise.release import record_verdicts

    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        exporting.prepare_state(con, "email")
        con.execute(
            "create table marts.build_info as "
            "select date '2026-05-02' as as_of_date, 'b1' as dbt_invocation_id"
        )
        con.execute(
            "create table marts.email_audience as select * from (values "
            "('a@x.test', 'A', 'B', 'active', 'fans-books, win-back', 'loyal-customer', date '2026-05-02'), "
            "('b@x.test', 'C', 'D', 'lapsed', '', '', date '2026-05-02')) "
            "as t(email, first_name, last_name, primary_segment, audiences, tags, updated_on)"
        )
        con.execute("insert into export.acknowledged values ('email', 'gone@x.test', '{}')")
        record_verdicts(con, ("b1", "2026-05-02"), dict.fromkeys(GUARDED_MARTS, True))
    sync = exporting.export(warehouse, "email", tmp_path / "exports")
    changes_csv, changes_jsonl = sync.files[0], sync.files[1]
    rows = {r["email"]: r for r in map(json.loads, changes_jsonl.read_text().splitlines())}
    assert rows["a@x.test"]["row"]["audiences"] == ["fans-books", "win-back"]
    assert rows["a@x.test"]["row"]["tags"] == ["loyal-customer"]
    assert rows["b@x.test"]["row"]["audiences"] == [] == rows["b@x.test"]["row"]["tags"]
    assert rows["gone@x.test"]["change"] == "remove" and rows["gone@x.test"]["row"] is None
    cells = {r["email"]: r for r in csv.DictReader(changes_csv.open())}
    assert cells["a@x.test"]["audiences"] == "fans-books, win-back"
    assert "as_of_date" not in cells["a@x.test"]


def test_the_export_state_is_created_from_its_dbt_source(tmp_path):
    """The export state's columns, types and constraints are written once, in the dbt
    source `export`; an older warehouse's erasures table gains the hash column."""
    from tagwise.dbt import manifest

    declared = {
        (node["name"], column["name"], column["data_type"].upper())
        for node in manifest()["sources"].values()
        if node["source_name"] == "export"
        for column in node["columns"].values()
    }
    with connect(tmp_path / "warehouse.duckdb") as con:
        con.execute("create schema export")
        con.execute("create table export.erasures_applied (email varchar, applied_at timestamp)")
        con.execute("insert into export.erasures_applied values ('a@x.test', null)")
        exporting._create_state_tables(con)
        created = set(
            con.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'export'"
            ).fetchall()
        )
        hashed = con.execute("select email, email_sha256 from export.erasures_applied").fetchall()
        with pytest.raises(duckdb.ConstraintException):
            con.execute(
                "insert into export.syncs values ('s1', null, '2026-05-01', '2026-05-01', "
                "'pending', 0, 0, 0, null)"
            )
    assert created == declared
    assert {table for table, *_ in created} == {
        "syncs", "sync_snapshots", "acknowledged", "unacknowledged_changes", "erasures_applied"
    }  # fmt: skip
    assert hashed == [(None, hashlib.sha256(b"a@x.test").hexdigest())]
