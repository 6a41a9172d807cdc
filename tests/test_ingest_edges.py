"""Landing files read as exactly themselves, whatever their names; the edge cases of real
files (line ends, trailing commas, offsets, symlinks, re-delivered corrections), each
loaded or refused with the file and the reason, never a traceback, never a lost row."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tagwise.cli import main
from tagwise.ingest import IngestError, ingest

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
HEADER = "customer_id,email,signup_at,updated_at"


def rows_by_file(warehouse: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found: dict[str, list[str]] = {}
        for file, customer in con.execute(
            "select _source_file, customer_id from raw.customers order by all"
        ).fetchall():
            found.setdefault(file, []).append(customer)
        return found


def logged(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select file, rows_read from raw.load_log where source = 'customers'"
            ).fetchall()
        )


@pytest.mark.parametrize(
    ("special", "plain"),
    [
        ("x[1].csv", ["x1.csv"]),
        ("new*.csv", ["new1.csv", "new2.csv"]),
        ("a?.csv", ["ab.csv"]),
        ("b[!c].csv", ["bd.csv"]),
        ("{a,b}.csv", ["a.csv", "b.csv"]),
        ("back\\slash.csv", ["backslash.csv"]),
    ],
)
def test_a_file_name_is_never_read_as_a_pattern(landing, warehouse, special, plain):
    landing.minimal()
    for number, name in enumerate(plain):
        landing.write(
            "customers", name, f"{HEADER}\nP{number},p{number}@x.test,2025-01-01,2025-01-01"
        )
    landing.write(
        "customers",
        special,
        f"{HEADER}\nS1,s@x.test,2025-01-01,2025-01-01\nS2,,2025-01-01,2025-01-01",
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert rows_by_file(warehouse)[f"customers/{special}"] == ["S1", "S2"]
    for number, name in enumerate(plain):
        assert rows_by_file(warehouse)[f"customers/{name}"] == [f"P{number}"]
    assert logged(warehouse)[f"customers/{special}"] == 2


@pytest.mark.parametrize("folder", ["land[1]", "land*", "land?", "la{n,d}"])
def test_a_landing_folder_with_pattern_characters_reads_its_own_files(tmp_path, folder):
    from conftest import Landing

    sibling = Landing(tmp_path / "land1").minimal()
    sibling.write("customers", "c.csv", f"{HEADER}\nWRONG,w@x.test,2025-01-01,2025-01-01")
    mine = Landing(tmp_path / folder).minimal()
    warehouse = tmp_path / "w.duckdb"
    ingest(mine.root, warehouse, loaded_at=NOW)
    assert rows_by_file(warehouse) == {"customers/c.csv": ["C1"]}


def test_parquet_and_gzip_names_with_pattern_characters_load(landing, warehouse):
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    landing.minimal()
    table = pa.table(
        {
            "customer_id": ["Q1"],
            "email": [None],
            "signup_at": ["2025-01-01"],
            "updated_at": ["2025-01-01"],
        }
    )
    pq.write_table(table, landing.root / "customers" / "q[1].parquet")
    (landing.root / "customers" / "z[2].csv.gz").write_bytes(
        gzip.compress(f"{HEADER}\nZ1,,2025-01-01,2025-01-01\n".encode())
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    found = rows_by_file(warehouse)
    assert found["customers/q[1].parquet"] == ["Q1"] and found["customers/z[2].csv.gz"] == ["Z1"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"order_id,customer_id,ordered_at,status\nO2,C1,2025-02-01,completed,extra", "Expected Number of Columns: 4 Found: 5"),
        (b"order_id,customer_id,ordered_at,status\nO2,C1,2025-02-01,compl\xe9ted", "not utf-8"),
        (b"order_id,customer_id,ordered_at,status\nO2,\"C1,2025-02-01,completed\n", "quote"),
    ],
)  # fmt: skip
def test_an_unreadable_file_gives_the_reader_s_reason_not_its_first_line(
    landing, warehouse, content, reason
):
    landing.minimal()
    landing.write("orders", "bad.csv", content)
    with pytest.raises(IngestError) as refused:
        ingest(landing.root, warehouse, loaded_at=NOW)
    message = str(refused.value)
    assert message.startswith("orders/bad.csv: cannot be read:"), message
    assert reason.lower() in message.lower(), message
    assert "Possible" not in message and "\n" not in message


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_any_line_ending_loads(landing, warehouse, ending):
    landing.minimal()
    text = ending.join([HEADER, "R1,r1@x.test,2025-01-01,2025-01-01", "R2,,2025-01-01,2025-01-01"])
    landing.write("customers", "lines.csv", (text + ending).encode())
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert rows_by_file(warehouse)["customers/lines.csv"] == ["R1", "R2"]


def test_a_trailing_comma_in_the_header_is_an_ignored_extra_column(landing, warehouse):
    landing.minimal()
    landing.write("customers", "sheet.csv", f"{HEADER},,\nT1,t@x.test,2025-01-01,2025-01-01,,")
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert rows_by_file(warehouse)["customers/sheet.csv"] == ["T1"]


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-02-01 10:00:00+25:00",
        "2025-02-01T10:00:00+0575",
        "2025-02-01 10:00:00-99",
        "2025-02-01 10:00:00+15",
    ],
)
def test_an_impossible_utc_offset_is_quarantined(landing, warehouse, stamp):
    landing.minimal()
    landing.write(
        "orders", "tz.csv", f"order_id,customer_id,ordered_at,status\nO9,C1,{stamp},completed"
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reasons = con.execute(
            "select reason from raw.quarantine where file = 'orders/tz.csv'"
        ).fetchall()
    assert reasons == [(f"ordered_at '{stamp}' is not a timestamp",)]


def test_possible_offsets_still_load(landing, warehouse):
    landing.minimal()
    landing.write(
        "orders", "tz.csv",
        "order_id,customer_id,ordered_at,status\nO7,C1,2025-02-01 10:00:00+14:00,completed\n"
        "O8,C1,2025-02-01T10:00:00-0930,completed\nO9,C1,2025-01-25,completed",
    )  # fmt: skip
    ingest(landing.root, warehouse, loaded_at=NOW)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*) from raw.orders where _source_file = 'orders/tz.csv'"
        ).fetchone() == (3,)


def test_files_under_a_symlinked_folder_are_loaded(landing, warehouse, tmp_path):
    landing.minimal()
    elsewhere = tmp_path / "delivered"
    elsewhere.mkdir()
    (elsewhere / "more.csv").write_text(f"{HEADER}\nL1,l@x.test,2025-01-01,2025-01-01\n")
    os.symlink(elsewhere, landing.root / "customers" / "linked")
    os.symlink(landing.root / "customers", elsewhere / "loop")  # a cycle is read once
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert rows_by_file(warehouse)["customers/linked/more.csv"] == ["L1"]


def test_a_corrected_file_with_the_same_name_size_and_time(landing, warehouse):
    """cp -p, rsync -t and tar keep the time: skipped with the true reason, and loaded
    with --verify-content."""
    landing.minimal()
    path = landing.write("customers", "fix.csv", f"{HEADER}\nF1,old@x.test,2025-01-01,2025-01-01")
    ingest(landing.root, warehouse, loaded_at=NOW)
    stat = path.stat()
    path.write_text(f"{HEADER}\nF1,new@x.test,2025-01-01,2025-01-02\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    result = CliRunner().invoke(
        main, ["ingest", "--landing", str(landing.root), "--warehouse", str(warehouse)]
    )
    assert "customers/fix.csv: skipped: unchanged name, size and time" in result.output
    assert "already loaded" not in result.output
    result = CliRunner().invoke(
        main,
        [
            "ingest",
            "--landing",
            str(landing.root),
            "--warehouse",
            str(warehouse),
            "--verify-content",
        ],
    )
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        emails = con.execute(
            "select email from raw.customers where customer_id = 'F1' order by updated_at"
        ).fetchall()
    assert emails == [("old@x.test",), ("new@x.test",)]
    assert "customers/c.csv: skipped: already loaded" in result.output


def test_a_warehouse_that_is_not_a_duckdb_file_is_named(landing, tmp_path):
    landing.minimal()
    bogus = tmp_path / "w.duckdb"
    bogus.write_text("not a database")
    result = CliRunner().invoke(
        main, ["ingest", "--landing", str(landing.root), "--warehouse", str(bogus)]
    )
    assert result.exit_code == 1
    assert f"error: cannot open the warehouse {bogus}" in result.output
    assert "not a valid DuckDB database file" in result.output
    assert "Traceback" not in result.output
