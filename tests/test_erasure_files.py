"""Every file tagwise writes with personal data is known to the erasure pass and to the
gate, whatever its format or state, and no character in a text field breaks the parsing
of tagwise's own files (SPEC 3.6, 3.7)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from click.testing import CliRunner
from conftest import record_erasure, run_cli, sha256

from tagwise.activation.changes import json_line, jsonl_rows
from tagwise.activation.redaction import _redact_file
from tagwise.cli import main
from tagwise.quality import erased_in_export_files

# Characters some reader takes as the end of a line.
LINE_BREAKERS = [
    "\u2028",
    "\u2029",
    "\x85",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\r",
    "\n",
    "\r\n",
]


@pytest.mark.parametrize("breaker", LINE_BREAKERS)
def test_a_json_lines_row_stays_one_row_whatever_its_text_holds(tmp_path, breaker):
    rows = [
        {"change": "add", "email": "a@x.test", "row": {"first_name": f"An{breaker}na"}},
        {"change": "add", "email": "gone@x.test", "row": {"first_name": f"Bo{breaker}b"}},
        {"change": "remove", "email": "gone@x.test", "row": None},
    ]
    text = "".join(json_line(r) for r in rows)
    assert text.count("\n") == 3 and len(text.splitlines()) == 3  # every reader sees 3 rows
    assert [json.loads(line) for line in jsonl_rows(text)] == rows
    path = tmp_path / "changes-s.jsonl"
    path.write_text(text, encoding="utf-8")
    assert _redact_file(path, "email", {"gone@x.test"}) == 1
    assert [json.loads(line) for line in jsonl_rows(path.read_text(encoding="utf-8"))] == [
        rows[0],
        rows[2],
    ]


@pytest.mark.parametrize("breaker", LINE_BREAKERS)
def test_a_csv_row_stays_one_row_whatever_its_text_holds(tmp_path, breaker):
    path = tmp_path / "audience-s.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["email", "first_name"], ["a@x.test", f"An{breaker}na"], ["gone@x.test", "B"]]
        )
    assert _redact_file(path, "email", {"gone@x.test"}) == 1
    with path.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [["email", "first_name"], ["a@x.test", f"An{breaker}na"]]


@pytest.mark.parametrize("folder", ["exports", "ex[1]ports", "ex*ports"])
def test_the_gate_finds_an_erased_address_in_every_kind_of_file(tmp_path, folder):
    exports = tmp_path / folder
    email = exports / "email"
    email.mkdir(parents=True)
    (email / "changes-s1.csv").write_text(
        "sync_id,email,change,first_name\ns1,gone@x.test,remove,\ns1,ok@x.test,add,A\n"
    )
    (email / "audience-s1.csv").write_text("email,first_name\nok@x.test,A\ngone@x.test,B\n")
    (email / "changes-s1.jsonl").write_text(
        json_line({"change": "remove", "email": "gone@x.test", "row": None})
        + json_line({"change": "add", "email": "also@x.test", "row": {"note": "x"}})
    )
    (exports / "access-reports").mkdir()
    (exports / "access-reports" / "k-2026-06-30.json").write_text(
        json.dumps({"emails_held": ["Also@X.test"]})
    )
    (email / ".changes-s2.csv.4242.tmp").write_text("sync_id,email\ns2,ok@x.test\n")
    published = tmp_path / "published.duckdb"
    (tmp_path / ".published.duckdb.77.partial").write_bytes(b"\0")
    erased = {sha256("gone@x.test"), sha256("also@x.test")}
    found = erased_in_export_files(erased, exports, published)
    rows = {(path.split("/")[-1], email) for path, email in found.itertuples(index=False)}
    assert rows == {
        ("audience-s1.csv", sha256("gone@x.test")),
        ("changes-s1.jsonl", sha256("also@x.test")),
        ("k-2026-06-30.json", sha256("also@x.test")),
        (".changes-s2.csv.4242.tmp", "(a file whose write did not finish)"),
        (".published.duckdb.77.partial", "(a file whose write did not finish)"),
    }


def holding(con, values: tuple[str, ...]) -> set[str]:
    """Every table or view of the warehouse with a text cell equal to one of the values
    (compared lower-cased)."""
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR'"
    ).fetchall()
    found = set()
    for schema, table, column in columns:
        hit = con.execute(
            f'select count(*) from "{schema}"."{table}" where lower("{column}") in '
            "(select lower(unnest(?::varchar[])))",
            [list(values)],
        ).fetchone()[0]
        if hit:
            found.add(f"{schema}.{table}")
    return found


def run(landing, warehouse, exports, day: date):
    result = run_cli(landing.root, warehouse, exports, day)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.e2e
def test_erasure_reaches_every_file_and_every_identifier(landing, warehouse, tmp_path):
    """One run as of 05-01 leaves a pending sync; then: B asks for erasure under the address
    B used before changing it, an unknown id asks too, a killed export and a killed publish
    left files behind, and an access report of B lies in the exports. The run as of 05-02
    passes its gate, removes B everywhere, and names the request that matched no one."""
    names = {"A": "An\u2028na\u0085", "B": "Bo\u2029b\x0b", "C": 'Cé,"quoted"\r\nline'}
    landing.write(
        "customers",
        "c.csv",
        "customer_id,email,first_name,signup_at,updated_at\n"
        + "\n".join(
            f'{c},{c.lower()}@x.test,"{n.replace(chr(34), chr(34) * 2)}",2026-01-01,2026-01-01'
            for c, n in names.items()
        )
        + "\nB,b.new@x.test,Bob,2026-01-01,2026-02-01",
    )
    landing.buyers_who_consented(list(names))
    exports = tmp_path / "exports"
    run(landing, warehouse, exports, date(2026, 5, 1))
    report = CliRunner().invoke(
        main,
        ["access-report", "b@x.test", "--warehouse", str(warehouse), "--exports", str(exports)],
    )
    assert report.exit_code == 0, report.output
    # Issue 40, item 6: beside the warehouse, never in the outbox reverse-ETL tools sync.
    assert len(list((warehouse.parent / "access-reports").glob("*.json"))) == 1
    assert not (exports / "access-reports").exists()
    landing.write(
        "privacy_requests",
        "p.csv",
        "request_id,customer_id,email,request_type,received_at\n"
        "R1,,B@X.TEST ,erasure,2026-05-02\nR2,NOBODY,,erasure,2026-05-02\n"
        "R3,,not-an-address,access,2026-05-02",
    )
    (exports / "email" / ".changes-x.csv.999.tmp").write_text("b.new@x.test,Bob\n")
    (warehouse.parent / ".published.duckdb.999.partial").write_text("b.new@x.test")
    output = run(landing, warehouse, exports, date(2026, 5, 2))
    assert "privacy requests naming no one" in output
    left = [p for p in exports.rglob("*") if p.is_file()] + list(warehouse.parent.glob(".*"))
    assert not [p for p in left if p.name.endswith((".tmp", ".partial"))]
    assert not list((warehouse.parent / "access-reports").iterdir())
    for path in (exports / "email").iterdir():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in jsonl_rows(text)]
            assert all(r["change"] == "remove" for r in rows if r["email"] == "b.new@x.test")
            assert {r["email"] for r in rows} >= {"a@x.test", "c@x.test"}
        elif path.name.startswith("remove-"):
            continue  # the platform's removal file: every row is a remove
        else:
            cells = list(csv.reader(io.StringIO(text, newline="")))
            if path.name.startswith("import-"):  # adds and updates only
                assert not any("b.new@x.test" in row for row in cells), path
            else:
                assert all(row[2] == "remove" for row in cells if "b.new@x.test" in row), path
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*) from marts.dim_customers where source_customer_ids = 'B'"
        ).fetchone() == (0,)
        quarantined = con.execute(
            "select request_id, unresolved_reason from restricted.privacy_request_quarantine order by 1"
        ).fetchall()
    assert [r for r, _ in quarantined] == ["R2", "R3"]
    assert "not a valid address" in quarantined[1][1]


@pytest.mark.e2e
def test_erasure_purges_what_the_warehouse_holds_about_the_person(landing, warehouse, tmp_path):
    """Raw rows of every source, quarantined rows, stored gate samples; the request keeps
    resolving (by hash) on later runs instead of landing in the request quarantine."""
    import duckdb

    landing.minimal()
    landing.write(
        "customers",
        "more.csv",
        "customer_id,email,phone,signup_at,updated_at\n"
        "E1,erase.me@x.test,+1 202 555 0143,2026-01-01,2026-01-01\n"
        "E1,erase.me.too@x.test,,2026-01-01,2026-02-01\nK1,keep@x.test,,2026-01-01,2026-01-01",
    )
    landing.write(
        "orders",
        "more.csv",
        "order_id,customer_id,ordered_at,status\nOE,E1,2026-04-01,completed\nOK,K1,2026-04-01,completed",
    )
    landing.write(
        "order_lines",
        "more.csv",
        "order_id,line_no,product_id,quantity,unit_price\nOE,1,P1,1,5\nOK,1,P1,1,5",
    )
    landing.write(
        "consent_events",
        "k.csv",
        "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
        "K1,,ERASE.ME@x.test,email,marketing,granted,form,2026-01-01\n"
        "K2,E1,,email,marketing,maybe,form,2026-01-01\n"
        "K3,K1,,email,marketing,granted,form,2026-01-01",
    )
    exports = tmp_path / "exports"
    run(landing, warehouse, exports, date(2026, 5, 1))
    with duckdb.connect(str(warehouse)) as con:  # as a failed gate would have stored it
        con.execute(
            "insert into quality.validation_results (run_id, sample) "
            "values ('r', '[{\"email\": \"erase.me.too@x.test\"}]'), ('r', '[{\"email\": \"keep@x.test\"}]')"
        )
    landing.write(
        "privacy_requests",
        "p.csv",
        "request_id,customer_id,email,request_type,received_at\nR1,,erase.me@x.test,erasure,2026-05-02",
    )
    run(landing, warehouse, exports, date(2026, 5, 2))
    # Issue 40, item 25: right after the run that erased E1, no table holds their id or
    # an address of theirs, but the requests (the record of what was asked); the identity
    # tables of that build held both until the next build.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        erased = ("E1", "erase.me@x.test", "erase.me.too@x.test", "+1 202 555 0143", "+12025550143")
        assert holding(con, erased) == {
            "raw.privacy_requests",
            "restricted.int_identity__privacy_requests",
            "staging.stg_privacy__privacy_requests",
        }
        assert holding(con, ("K1", "keep@x.test")) >= {"restricted.int_identity__identifiers"}
    run(landing, warehouse, exports, date(2026, 5, 3))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in ("customers", "orders", "consent_events"):
            left = con.execute(
                f"select count(*) from raw.{table} where customer_id = 'E1' "
                + ("or lower(email) like 'erase.me%'" if table != "orders" else "")
            ).fetchone()
            assert left == (0,), table
        assert con.execute(
            "select count(*) from raw.order_lines where order_id = 'OE'"
        ).fetchone() == (0,)
        assert con.execute(
            "select count(*) from raw.order_lines where order_id = 'OK'"
        ).fetchone() == (1,)
        assert con.execute(
            "select count(*) from raw.quarantine where original like '%E1%'"
        ).fetchone() == (0,)
        samples = [
            s
            for (s,) in con.execute(
                "select sample from quality.validation_results where run_id = 'r'"
            ).fetchall()
        ]
        assert sorted(samples) == ["[redacted: erasure]", '[{"email": "keep@x.test"}]']
        assert con.execute(
            "select count(*) from restricted.privacy_request_quarantine"
        ).fetchone() == (0,)
        assert con.execute(
            "select count(*) from restricted.int_identity__erased_people"
        ).fetchone() == (1,)
        hashes = con.execute(
            "select identifier_type, count(*) from erasure.erased_identifiers group by all order by 1"
        ).fetchall()
        # An E.164 phone also by the hash of its digits, as Meta's files write it.
        assert hashes == [("customer_id", 1), ("email", 2), ("phone", 1), ("phone_digits", 1)]
        assert con.execute("select count(*) from raw.privacy_requests").fetchone() == (1,)


def test_a_killed_diffs_scratch_copy_is_removed_by_the_next_command(gated, tmp_path):
    """Issue 40, item 22: kill -9 of `tagwise diff` left a full copy of the warehouse in the
    system's temporary folder, where no erasure reaches. Scratch copies live beside the
    warehouse, and the next command (here the erasure pass of a run) removes those of
    processes that are gone, never a running one's."""
    import os

    from tagwise.activation.redaction import erase_from_exports
    from tagwise.paths import SCRATCH, scratch_folder

    root = gated.parent / SCRATCH
    dead, alive = root / "diff-999999999-x1", root / f"diff-{os.getpid()}-x2"
    for folder in (dead, alive):
        folder.mkdir(parents=True)
        (folder / "working.duckdb").write_text("everyone")
    record_erasure(gated, "gone@x.test")
    erase_from_exports(gated, tmp_path / "exports")
    assert not dead.exists() and (alive / "working.duckdb").exists()
    assert scratch_folder(gated) == root.resolve()
