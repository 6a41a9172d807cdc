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
from conftest import Landing, copy_of_run, record_erasure, run_cli, set_audience, use_destinations

from tagwise.activation import changes
from tagwise.activation.changes import (
    ExportError,
    HoldThresholds,
    create_state_tables,
    unsent_removes,
)
from tagwise.activation.redaction import erase_from_exports
from tagwise.activation.status import sync_status
from tagwise.activation.syncs import acknowledge, approve, export, reject
from tagwise.privacy import access_report
from tagwise.quality import state_datasets
from tagwise.warehouse import connect

D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)
PEOPLE = ["a1", "a2", "a3", "a4", "a5"]


def write_five(landing: Landing) -> Landing:
    landing.write(
        "customers",
        "c.csv",
        "customer_id,email,signup_at,updated_at\n"
        + "\n".join(f"{p.upper()},{p}@x.test,2026-01-01,2026-01-01" for p in PEOPLE),
    )
    landing.buyers_who_consented([p.upper() for p in PEOPLE])
    return landing


@pytest.fixture(scope="module")
def first_day(tmp_path_factory) -> Path:
    """Five buyers who consented, run as of D1 once per module: the run's folder."""
    root = tmp_path_factory.mktemp("first-day")
    first = run(write_five(Landing(root / "landing")), root / "warehouse.duckdb",
                root / "exports", D1)  # fmt: skip
    assert first.exit_code == 0, first.output
    return root


@pytest.fixture
def five_after_d1(first_day, tmp_path) -> tuple[Landing, Path, Path]:
    """This test's own copy of the run as of D1: (landing, warehouse, exports)."""
    landing, warehouse, exports = copy_of_run(first_day, tmp_path)
    return Landing(landing), warehouse, exports


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
                "select key, change from marts.audience_changes where sync_id = "
                "(select sync_id from export.syncs where destination = 'email' and status = 'pending')"
            ).fetchall()
        )


@pytest.mark.e2e
def test_whoever_leaves_while_a_sync_is_pending_is_removed(five_after_d1):
    five, warehouse, exports = five_after_d1
    leave_on_day_two(five)
    second = run(five, warehouse, exports, D2)
    assert second.exit_code == 0, second.output  # no gate deadlock on the erasure
    changes = pending_changes(warehouse)
    for person in ("a1", "a2", "a3", "a4"):
        assert changes.get(f"{person}@x.test") == "remove", changes
    assert changes.get("a5@x.test") == "add"  # not acknowledged yet: sent again
    text = "".join(p.read_text() for p in (exports / "email").glob("*"))
    assert "a4@x.test,remove" in text.replace("email-20260502-001,", "")
    # What a5 was sent, as the access report shows it from the sync log.
    logged = [
        (row["sync_id"], row["change"], row["delivery"])
        for row in access_report(warehouse, "a5@x.test")["sync_log"]
    ]
    assert logged == [
        ("email-20260501-001", "add", "superseded"), ("email-20260502-001", "add", "sent")
    ]  # fmt: skip
    acknowledge(warehouse, "email-20260502-001")
    third = run(five, warehouse, exports, D3)
    assert third.exit_code == 0, third.output
    assert "nothing new to send" in third.output


@pytest.mark.e2e
def test_a_key_removed_by_an_unacknowledged_sync_is_added_again(five_after_d1):
    """a3 withdraws (a pending remove), then grants again before anyone acknowledged."""
    five, warehouse, exports = five_after_d1
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
        create_state_tables(con)
        set_audience(
            con,
            "select 'a5@x.test' as email, 'A' as first_name, "
            "'B' as last_name, 'active' as primary_segment, [] as audiences, [] as tags, "
            "date '2026-05-02' as updated_on",
        )
        con.execute("insert into export.acknowledged values ('email', 'a1@x.test', '{}')")
        con.execute(
            "insert into export.unacknowledged_changes values "
            "('email', 's1', 'a2@x.test', 'add', '{}'), ('email', 's1', 'a9@x.test', 'remove', null)"
        )
        assert unsent_removes(con, "email") == []
        removes = con.execute("select key from _changes where change = 'remove' order by key")
        assert removes.fetchall() == [("a1@x.test",), ("a2@x.test",)]  # never a9, never sent
        monkeypatch.setattr(changes, "changes_sql", lambda: ACKNOWLEDGED_ONLY)
        assert unsent_removes(con, "email") == [
            ("a2@x.test", "no remove for a key no longer eligible")
        ]
        # The gate checks every destination's change set, the webhook's too.
        con.execute(
            "insert into export.unacknowledged_changes values ('webhook', 'w1', 'a3@x.test', 'add', '{}')"
        )
        found = state_datasets(con, {"unsent_removes"})["unsent_removes"]
        assert sorted(found.itertuples(index=False, name=None)) == [
            ("email", "a2@x.test", "no remove for a key no longer eligible"),
            ("webhook", "a3@x.test", "no remove for a key no longer eligible"),
        ]


def test_json_lines_carry_lists_as_arrays_and_csv_as_one_documented_text(tmp_path):
    """Email platforms' list properties need arrays; the CSV keeps the sorted lists joined
    by ', ' (README, Exports); a removal carries no row."""
    import csv
    import json

    from tagwise.expectations.suites import GUARDED_MARTS

    from tagwise.release import record_verdicts

    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        create_state_tables(con)
        con.execute(
            "create table marts.build_info as "
            "select date '2026-05-02' as as_of_date, 'b1' as dbt_invocation_id"
        )
        set_audience(
            con,
            "select * from (values "
            "('a@x.test', 'A', 'B', 'active', 'fans-books, win-back', 'loyal-customer', date '2026-05-02'), "
            "('b@x.test', 'C', 'D', 'lapsed', '', '', date '2026-05-02')) "
            "as t(email, first_name, last_name, primary_segment, audiences, tags, updated_on)",
        )
        con.execute("insert into export.acknowledged values ('email', 'gone@x.test', '{}')")
        record_verdicts(con, ("b1", "2026-05-02"), dict.fromkeys(GUARDED_MARTS, True))
    sync = export(warehouse, "email", tmp_path / "exports")
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
    source `export` (an older warehouse's erasures table gains the hash column through
    tagwise.migrations: tests/test_migrations.py)."""
    from tagwise.dbt import manifest

    declared = {
        (node["name"], column["name"], column["data_type"].upper())
        for node in manifest()["sources"].values()
        if node["source_name"] == "export"
        for column in node["columns"].values()
    }
    with connect(tmp_path / "warehouse.duckdb") as con:
        create_state_tables(con)
        created = set(
            con.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'export'"
            ).fetchall()
        )
        with pytest.raises(duckdb.ConstraintException):
            con.execute(
                "insert into export.syncs values ('s1', null, '2026-05-01', '2026-05-01', "
                "'pending', 0, 0, 0, null)"
            )
    assert created == declared
    assert {table for table, *_ in created} == {
        "syncs", "sync_snapshots", "acknowledged", "unacknowledged_changes", "sync_log",
        "webhook_batches", "erasures_applied",
    }  # fmt: skip


def _audience(con, people: range) -> None:
    """The email audience with people p<n>@x.test, n in `people`."""
    set_audience(
        con,
        "select 'p' || n || '@x.test' as email, "
        "'A' as first_name, 'B' as last_name, 'active' as primary_segment, [] as audiences, "
        "[] as tags, date '2026-05-02' as updated_on "
        f"from range({people.start}, {people.stop}) t(n)",
    )


THRESHOLDS = HoldThresholds(share=0.2, min_people=100)


def _export(warehouse: Path, exports: Path, people: range):
    with connect(warehouse) as con:
        _audience(con, people)
    return export(warehouse, "email", exports, THRESHOLDS)


def _state(warehouse: Path) -> tuple[dict, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        statuses = dict(con.execute("select sync_id, status from export.syncs").fetchall())
        sent = con.execute("select count(*) from export.unacknowledged_changes").fetchone()[0]
    return statuses, sent


def test_a_mass_removal_is_held_aside_until_approved(gated, tmp_path):
    """SPEC 3.7 rule 4: 200 of 500 acknowledged people removed at once (a bad catalog edit)
    is held: nothing in the outbox, nothing counted as sent, until approved."""
    exports = tmp_path / "exports"
    first = _export(gated, exports, range(500))
    assert not first.held  # a first load is what the destination is set up to take
    acknowledge(gated, first.sync_id)
    held = _export(gated, exports, range(300))
    outbox = exports / "email"
    assert held.held and held.removes == 200
    assert sorted(p.name for p in outbox.iterdir() if p.is_file()) == []
    assert {p.parent for p in held.files} == {outbox / "held"}
    assert _state(gated) == ({first.sync_id: "acknowledged", held.sync_id: "held"}, 0)
    again = _export(gated, exports, range(300))
    assert (again.sync_id, again.held, again.resent) == (held.sync_id, True, True)
    assert [(s.sync_id, s.status) for s in sync_status(gated) if s.destination == "email"] == [
        (held.sync_id, "held"), (first.sync_id, "acknowledged")
    ]  # fmt: skip
    with pytest.raises(ExportError, match="approve"):
        acknowledge(gated, held.sync_id)

    approved = approve(gated, held.sync_id, exports)
    assert sorted(p.name for p in outbox.iterdir() if p.is_file()) == sorted(
        p.name for p in approved.files
    )
    assert list((outbox / "held").iterdir()) == []
    assert _state(gated) == ({first.sync_id: "acknowledged", held.sync_id: "pending"}, 200)
    with pytest.raises(ExportError, match="only a held sync can be approved"):
        approve(gated, held.sync_id, exports)
    acknowledge(gated, held.sync_id)


def test_below_either_threshold_a_sync_is_sent(gated, tmp_path):
    """More than 20% but fewer than 100 people, or 100 people but not 20%: sent."""
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(150)).sync_id)
    few = _export(gated, exports, range(51))  # 99 removes, 66%
    assert not few.held and few.removes == 99
    acknowledge(gated, few.sync_id)
    grown = _export(gated, exports, range(1000))  # 949 adds: held, and sent by hand
    acknowledge(gated, approve(gated, grown.sync_id, exports).sync_id)
    share = _export(gated, exports, range(1200))  # 200 adds, 20%: not more than 20%
    assert not share.held and share.adds == 200


def test_a_rejected_sync_is_dropped_and_held_again_while_its_cause_stays(gated, tmp_path):
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(500)).sync_id)
    held = _export(gated, exports, range(1000))  # 500 adds
    rejected = reject(gated, held.sync_id, exports)
    assert rejected.sync_id == held.sync_id
    assert list((exports / "email" / "held").iterdir()) == []
    again = _export(gated, exports, range(1000))
    assert again.held and again.sync_id != held.sync_id
    assert _state(gated)[0][held.sync_id] == "rejected"


def test_a_pending_sync_stays_sent_while_a_newer_one_is_held(gated, tmp_path):
    """The pending sync was sent: holding a newer one must not take it back; approving
    the newer one replaces it, and the removes of both count as possibly applied."""
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(500)).sync_id)
    pending = _export(gated, exports, range(450))  # 50 removes: sent
    held = _export(gated, exports, range(100))  # 400 removes: held
    assert not pending.held and held.held
    assert _state(gated) == (
        {"email-20260502-001": "acknowledged", pending.sync_id: "pending", held.sync_id: "held"},
        50,
    )
    assert all(p.exists() for p in pending.files)
    approve(gated, held.sync_id, exports)
    statuses, sent = _state(gated)
    assert (statuses[pending.sync_id], statuses[held.sync_id], sent) == (
        "superseded",
        "pending",
        450,
    )
    assert not any(p.exists() for p in pending.files)


def test_erasure_reaches_a_held_syncs_files(gated, tmp_path):
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(100, 200)).sync_id)
    held = _export(gated, exports, range(0, 200))  # 100 adds, 100%: held
    assert held.held and "p5@x.test" in held.files[0].read_text()
    record_erasure(gated, "p5@x.test")
    assert erase_from_exports(gated, exports) > 0
    assert all("p5@x.test" not in path.read_text() for path in held.files)
    with duckdb.connect(str(gated), read_only=True) as con:
        stored = con.execute(
            "select count(*) from export.sync_snapshots where key = 'p5@x.test'"
        ).fetchone()[0]
    assert stored == 0


def test_a_held_sync_whose_cause_was_fixed_is_never_sent(gated, tmp_path):
    """The audience comes back to what the pending sync sent: that sync is sent again and
    the held one can no longer be approved."""
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(500)).sync_id)
    pending = _export(gated, exports, range(450))
    held = _export(gated, exports, range(100))
    again = _export(gated, exports, range(450))
    assert (again.sync_id, again.resent, again.held) == (pending.sync_id, True, False)
    assert _state(gated)[0][held.sync_id] == "superseded"
    assert not any(p.exists() for p in held.files)
    with pytest.raises(ExportError, match="is superseded"):
        approve(gated, held.sync_id, exports)


def test_acknowledging_the_pending_sync_recomputes_a_held_one(gated, tmp_path):
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(500)).sync_id)
    pending = _export(gated, exports, range(450))
    held = _export(gated, exports, range(100))
    acknowledge(gated, pending.sync_id)
    assert _state(gated)[0][held.sync_id] == "superseded"
    again = _export(gated, exports, range(100))  # 350 removes of the 450 now held
    assert again.held and (again.adds, again.removes) == (0, 350)


def _log(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select sync_id, change, delivery, count(*) from export.sync_log "
            "group by all order by sync_id, change"
        ).fetchall()


def test_every_row_sent_is_logged_and_an_erased_key_keeps_only_its_hash(gated, tmp_path):
    """The sync log holds each row when it is sent (a held sync only once approved) and
    what became of its sync; an erasure leaves the key's hash, not the address."""
    exports = tmp_path / "exports"
    first = _export(gated, exports, range(100, 200))
    # Supersedes the first; nothing was acknowledged, so every member is added again.
    second = _export(gated, exports, range(150, 250))
    assert _log(gated) == [
        (first.sync_id, "add", "superseded", 100),
        (second.sync_id, "add", "sent", 100),
        (second.sync_id, "remove", "sent", 50),
    ]
    acknowledge(gated, second.sync_id)
    held = _export(gated, exports, range(0, 250))  # 150 adds of 100 held: not sent
    assert held.held and {row[0] for row in _log(gated)} == {first.sync_id, second.sync_id}
    approve(gated, held.sync_id, exports)
    assert _log(gated)[1:] == [
        (second.sync_id, "add", "acknowledged", 100),
        (second.sync_id, "remove", "acknowledged", 50),
        (held.sync_id, "add", "sent", 150),
    ]
    record_erasure(gated, "p5@x.test")
    erase_from_exports(gated, exports)
    digest = hashlib.sha256(b"p5@x.test").hexdigest()
    with duckdb.connect(str(gated), read_only=True) as con:
        erased = con.execute(
            "select key, change, delivery from export.sync_log where key_sha256 = ?", [digest]
        ).fetchall()
        addressed = con.execute(
            "select count(*) from export.sync_log where key = 'p5@x.test'"
        ).fetchone()[0]
    assert (erased, addressed) == ([(None, "add", "sent")], 0)


def _changes_of(warehouse: Path, sync_id: str) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select key, change from marts.audience_changes where sync_id = ?", [sync_id]
            ).fetchall()
        )


def test_approval_rechecks_every_row_against_the_latest_build(gated, tmp_path):
    """Issue 40, item 14: a sync held on day 1 is approved after the day-2 build, in which
    p0 (acknowledged, untouched by the held sync) and p999 (a held add) are no longer
    eligible (they unsubscribed, withdrew, or were erased). Approval sends no add for p999
    and a remove for p0; the destination's snapshot holds neither."""
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(500)).sync_id)
    held = _export(gated, exports, range(1000))  # 500 adds: held
    assert held.held and held.adds == 500
    with connect(gated) as con:
        _audience(con, range(1, 999))
    approved = approve(gated, held.sync_id, exports)
    changes = _changes_of(gated, held.sync_id)
    assert changes["p0@x.test"] == "remove"
    assert "p999@x.test" not in changes
    assert (approved.adds, approved.updates, approved.removes) == (499, 0, 1)
    written = "".join(path.read_text() for path in approved.files)
    assert "p999@x.test" not in written
    acknowledge(gated, held.sync_id)
    with duckdb.connect(str(gated), read_only=True) as con:
        at_destination = {
            key for (key,) in con.execute("select key from export.acknowledged").fetchall()
        }
    assert at_destination == {f"p{n}@x.test" for n in range(1, 999)}


def test_erasure_leaves_the_rows_of_whoever_holds_the_erased_persons_former_key(gated, tmp_path):
    """Issue 40, item 16: p5@x.test was the erased person's and is another customer's now.
    Erasure redacts the payload the destination may hold under it, but keeps that
    customer's key in the state and the log, and their next sync updates it."""
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(10)).sync_id)
    record_erasure(gated, "p5@x.test", "gone@x.test")
    with connect(gated) as con:
        con.execute(
            "insert into restricted.int_identity__identifiers values ('L', 'email', 'p5@x.test', true)"
        )
    erase_from_exports(gated, exports)
    with duckdb.connect(str(gated), read_only=True) as con:
        logged = con.execute(
            "select count(key) from export.sync_log where key_sha256 = sha256('p5@x.test')"
        ).fetchone()[0]
        payload = con.execute(
            "select payload from export.acknowledged where key = 'p5@x.test'"
        ).fetchall()
    assert (logged, payload) == (1, [(None,)])
    again = _export(gated, exports, range(10))
    assert again is not None and _changes_of(gated, again.sync_id) == {"p5@x.test": "update"}


def test_the_remove_of_an_erased_key_is_logged_by_its_hash_only(gated, tmp_path):
    """Issue 40, item 17 (SPEC 3.7, rule 5): the remove sent after an erasure kept the
    address in clear in the sync log, also once acknowledged."""
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(10)).sync_id)
    record_erasure(gated, "p5@x.test")
    erase_from_exports(gated, exports)
    with connect(gated) as con:
        con.execute("delete from marts.destination_audiences where key = 'p5@x.test'")
    removal = export(gated, "email", exports, THRESHOLDS)
    assert _changes_of(gated, removal.sync_id) == {"p5@x.test": "remove"}
    acknowledge(gated, removal.sync_id)
    with duckdb.connect(str(gated), read_only=True) as con:
        clear = con.execute(
            "select count(*) from export.sync_log where key = 'p5@x.test'"
        ).fetchone()[0]
        hashed = con.execute(
            "select change from export.sync_log where key_sha256 = sha256('p5@x.test') order by change"
        ).fetchall()
    assert (clear, hashed) == (0, [("add",), ("remove",)])


def test_a_name_that_would_run_as_a_spreadsheet_formula_is_written_inert(gated, tmp_path):
    """Issue 40, item 25: names starting with `=` or `@` went into CSV files verbatim; the
    JSON Lines keep the value as it is, and a key keeps its leading `+` (E.164 phones)."""
    with connect(gated) as con:
        set_audience(
            con,
            "select '+p1@x.test' as email, '=HYPERLINK(\"http://x\")' as first_name, "
            "'@SUM(A1)' as last_name, 'active' as primary_segment, [] as audiences, [] as tags, "
            "date '2026-05-02' as updated_on",
        )
    sync = export(gated, "email", tmp_path / "exports", THRESHOLDS)
    changes_csv, changes_jsonl, audience_csv, import_csv, _ = sync.files
    for path in (changes_csv, audience_csv, import_csv):
        text = path.read_text()
        assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
        assert ",=" not in text and ",@" not in text
        assert "'+p1@x.test" not in text and "+p1@x.test" in text  # the key as it is
    assert '"first_name": "=HYPERLINK' in changes_jsonl.read_text()


def _files_by_prefix(sync) -> dict[str, list[list[str]]]:
    import csv

    return {
        path.name.split("-")[0]: list(csv.reader(path.open(newline="", encoding="utf-8")))
        for path in sync.files
        if path.name.startswith(("import-", "remove-"))
    }


def test_an_email_platform_gets_an_import_file_and_a_removal_file(gated, tmp_path):
    """Issue 40, item 2: Klaviyo's import wants the address first under `Email` and list
    properties as JSON arrays, and Mailchimp and Klaviyo apply one status per import: the
    adds and updates come in one file, the removes in another, beside the change feed."""
    exports = tmp_path / "exports"
    with connect(gated) as con:
        set_audience(
            con,
            "select 'p' || n || '@x.test' as email, 'A' as first_name, 'B' as last_name, "
            "'active' as primary_segment, 'fans-books, win-back' as audiences, '' as tags, "
            "date '2026-05-02' as updated_on from range(3) t(n)",
        )
    acknowledge(gated, export(gated, "email", exports, THRESHOLDS).sync_id)
    with connect(gated) as con:
        con.execute("delete from marts.destination_audiences where key = 'p0@x.test'")
        con.execute(
            "insert into marts.destination_audiences by name select 'email' as destination, "
            "'p9@x.test' as key, 'C' as first_name, 'active' as primary_segment, "
            "'' as audiences, '' as tags"
        )
    sync = export(gated, "email", exports, THRESHOLDS)
    files = _files_by_prefix(sync)
    assert files["import"] == [
        ["Email", "First Name", "Last Name", "primary_segment", "audiences", "tags", "updated_on"],
        ["p9@x.test", "C", "", "active", "[]", "[]", ""],
    ]
    assert files["remove"] == [["Email"], ["p0@x.test"]]
    assert all(path.parent == exports / "email" for path in sync.files)


@pytest.mark.parametrize(
    ("kind", "headers"),
    [("google_customer_match", ["Email", "Phone"]), ("meta_custom_audience", ["email", "phone"])],
)
def test_an_ads_platform_gets_its_own_upload_headers(gated, tmp_path, kind, headers, monkeypatch):
    """Issue 40, item 1: the files had email_sha256 and phone_sha256 (and sync_id, change);
    Google Customer Match wants Email and Phone, Meta email and phone. The hashes
    themselves are pinned per platform by a dbt unit test (each_ads_platform_...)."""
    from tagwise.activation.kinds import Destination

    ads = Destination(
        "ads", kind, ("phone_sha256",), (("email", "marketing"), ("any", "profiling"))
    )
    use_destinations(monkeypatch, lambda: {"ads": ads})
    with connect(gated) as con:
        create_state_tables(con)
        con.execute(
            "create or replace table marts.destination_audiences as "
            "select 'ads' as destination, sha256('p1@x.test') as key, sha256('+15551002008') as phone_sha256"
        )
    files = _files_by_prefix(export(gated, "ads", tmp_path / "exports", THRESHOLDS))
    email_hash, phone_hash = (
        hashlib.sha256(v).hexdigest() for v in (b"p1@x.test", b"+15551002008")
    )
    assert files["import"] == [headers, [email_hash, phone_hash]]
    assert files["remove"] == [headers[:1]]


def test_erasure_leaves_the_removal_file_and_redacts_the_import_file(gated, tmp_path):
    exports = tmp_path / "exports"
    acknowledge(gated, _export(gated, exports, range(3)).sync_id)
    pending = _export(gated, exports, range(1, 5))  # p0 removed; p3, p4 added
    record_erasure(gated, "p0@x.test", "p4@x.test")
    erase_from_exports(gated, exports)
    files = _files_by_prefix(pending)
    assert files["remove"] == [["Email"], ["p0@x.test"]]
    assert [row[0] for row in files["import"]] == ["Email", "p3@x.test"]
