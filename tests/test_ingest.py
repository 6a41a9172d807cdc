"""Ingestion: every quarantine reason, conservation, idempotence, unreadable files."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tagwise.contract import SOURCES
from tagwise.ingest import IngestError, ingest
from tagwise.ingest.validation import SPARK, create_table, original_cells, typed_select

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
SOURCES_BY_NAME = {source.name: source for source in SOURCES}


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def quarantined(warehouse: Path, source: str) -> list[tuple[int, str]]:
    return query(
        warehouse,
        f"select row_number, reason from raw.quarantine where source = '{source}' order by file, row_number",
    )


def test_generated_sample_loads_with_conservation_per_file(dirty_landing, warehouse):
    loads = ingest(dirty_landing, warehouse, loaded_at=NOW)
    assert {load.source for load in loads} == {s.name for s in SOURCES}
    for load in loads:
        assert load.conserved, load
    logged = query(
        warehouse,
        "select count(*) from raw.load_log "
        "where rows_read <> rows_accepted + rows_quarantined + rows_duplicate",
    )
    assert logged == [(0,)]
    assert sum(load.rows_quarantined for load in loads) > 0
    assert sum(load.rows_duplicate for load in loads) > 0


def test_clean_sample_quarantines_nothing(clean_landing, warehouse):
    loads = ingest(clean_landing, warehouse, loaded_at=NOW)
    assert sum(load.rows_quarantined + load.rows_duplicate for load in loads) == 0


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",C1,2025-02-01T10:00:00Z,completed,web,", "missing key order_id"),
        ("O9,,2025-02-01T10:00:00Z,completed,web,", "missing required value customer_id"),
        (
            "O9,C1,2025-02-30 10:00,completed,web,",
            "ordered_at '2025-02-30 10:00' is not a timestamp",
        ),
        (
            "O9,C1,2025-02-01,shipped,web,",
            "status 'shipped' is not one of completed, refunded, cancelled",
        ),
        ("O9,C1,2025-02-01,completed,fax,", "channel 'fax' is not one of web, store, app"),
        (
            "O9,C1,2025-02-01,completed,web,12;50",
            "discount_amount '12;50' is not an amount with at most 2 decimals",
        ),
        ("O9,C1,2025-02-01,completed,web,1.255", "discount_amount '1.255' is not an amount"),
        ("O9,C1,2025-02-01,completed,web,-5", "discount_amount '-5' must be at least 0"),
        ("O9,C1,2026-07-02T12:00:01Z,completed,web,", "is more than one day after the load"),
    ],
)
def test_each_broken_order_is_quarantined_with_its_reason(landing, warehouse, row, reason):
    landing.minimal()
    landing.write(
        "orders", "o2.csv", landing.HEADERS["orders"] + "\nO2,C1,2025-02-02,completed,,\n" + row
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    rows = quarantined(warehouse, "orders")
    assert len(rows) == 1
    assert rows[0][0] == 2
    assert reason in rows[0][1]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("O1,2,P1,0,9.99", "quantity '0' must be greater than 0"),
        ("O1,2,P1,-2,9.99", "quantity '-2' must be greater than 0"),
        ("O1,2,P1,1.5,9.99", "quantity '1.5' is not a whole number"),
        ("O1,2,P1,two,9.99", "quantity 'two' is not a whole number"),
        ("O1,2,P1,1,-0.01", "unit_price '-0.01' must be at least 0"),
        ("O1,x,P1,1,1", "line_no 'x' is not a whole number"),
        (
            "O1,2,P1,1,0.123456789",
            "unit_price '0.123456789' is not an amount with at most 8 decimals",
        ),
    ],
)
def test_each_broken_order_line_is_quarantined(landing, warehouse, row, reason):
    landing.minimal()
    landing.write("order_lines", "l2.csv", landing.HEADERS["order_lines"] + "\n" + row)
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert [r[1] for r in quarantined(warehouse, "order_lines")] == [reason]


def test_a_unit_price_keeps_eight_decimals_so_large_quantities_total_to_the_cent(
    landing, warehouse
):
    """89,638 units at 0.00033470 make 30.00: at 2 decimals the line would be worth 0."""
    landing.minimal()
    landing.write(
        "order_lines", "l2.csv", landing.HEADERS["order_lines"] + "\nO1,2,P1,89638,0.0003347"
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    [(price, total)] = query(
        warehouse,
        "select unit_price, cast(quantity * unit_price as decimal(38, 2)) "
        "from raw.order_lines where line_no = 2",
    )
    assert str(price) == "0.00033470"
    assert str(total) == "30.00"


def test_a_row_breaking_several_rules_lists_every_reason(landing, warehouse):
    landing.minimal()
    landing.write("order_lines", "l2.csv", landing.HEADERS["order_lines"] + "\n,1,,-1,abc")
    ingest(landing.root, warehouse, loaded_at=NOW)
    [(_, reason)] = quarantined(warehouse, "order_lines")
    assert reason.split("; ") == [
        "missing key order_id",
        "missing required value product_id",
        "quantity '-1' must be greater than 0",
        "unit_price 'abc' is not an amount with at most 8 decimals",
    ]


def test_quarantine_keeps_the_original_values(landing, warehouse):
    landing.minimal()
    landing.write(
        "order_lines", "l2.csv", landing.HEADERS["order_lines"] + ",extra\nO1,2,P1,-1,5,kept"
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    [(original, file)] = query(warehouse, "select original, file from raw.quarantine")
    assert (
        original
        == '{"order_id":"O1","line_no":"2","product_id":"P1","quantity":"-1","unit_price":"5","extra":"kept"}'
    )
    assert file == "order_lines/l2.csv"


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_every_row_keeps_its_row_number_in_a_file_read_once(landing, warehouse, kind):
    # Large enough for DuckDB to read the file in parallel chunks: the typed rows are kept
    # in file order and numbered there, and the quarantine reads the cells by that number.
    landing.minimal()
    rows = [
        (f"O{n}", "C1", "2025-02-01", "lost" if n % 9_973 == 0 else "completed")
        for n in range(2, 300_002)
    ]
    if kind == "csv":
        body = "\n".join(",".join(row) for row in rows)
        landing.write("orders", "o2.csv", "order_id,customer_id,ordered_at,status\n" + body)
    else:
        columns = list(zip(*rows, strict=True))
        names = ("order_id", "customer_id", "ordered_at", "status")
        pq.write_table(
            pa.table(dict(zip(names, columns, strict=True))), landing.root / "orders" / "o2.parquet"
        )
    ingest(landing.root, warehouse, loaded_at=NOW)
    misplaced = query(
        warehouse,
        "select count(*) from raw.orders where _source_file like 'orders/o2%' "
        "and _source_row <> cast(substr(order_id, 2) as bigint) - 1",
    )
    assert misplaced == [(0,)]
    refused = query(
        warehouse,
        "select row_number, original::json->>'order_id' from raw.quarantine order by row_number",
    )
    assert refused == [(n - 1, f"O{n}") for n in range(9_973, 300_002, 9_973)]


def test_people_events_need_an_id_or_an_email(landing, warehouse):
    landing.minimal()
    landing.write(
        "consent_events", "k.csv",
        "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
        "K1,,,email,marketing,granted,form,2025-01-01\n"
        "K2,,a@x.test,email,marketing,granted,,2025-01-01\n"
        "K3,C1,,carrier_pigeon,marketing,granted,,2025-01-01",
    )  # fmt: skip
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert quarantined(warehouse, "consent_events") == [
        (1, "needs at least one of customer_id, email"),
        (3, "channel 'carrier_pigeon' is not one of email, sms, phone"),
    ]


def test_exact_duplicates_collapse_and_conflicts_keep_the_first_row(landing, warehouse):
    landing.minimal()
    landing.write(
        "products", "p1.csv",
        "product_id,name,category,price_tier,is_eco\n"
        "P1,Mug,home,mid,true\nP1,Mug,home,mid,true\nP1,Cup,home,mid,true\nP2,Pen,office,budget,false",
    )  # fmt: skip
    landing.write(
        "products", "p2.csv",
        "product_id,name,category,price_tier,is_eco\nP2,Pen,office,budget,false\nP2,Pencil,office,budget,false",
    )  # fmt: skip
    loads = {load.file: load for load in ingest(landing.root, warehouse, loaded_at=NOW)}
    first, second = loads["products/p1.csv"], loads["products/p2.csv"]
    assert (first.rows_read, first.rows_accepted, first.rows_duplicate, first.rows_quarantined) == (
        4,
        2,
        1,
        1,
    )
    assert (
        second.rows_read,
        second.rows_accepted,
        second.rows_duplicate,
        second.rows_quarantined,
    ) == (2, 0, 1, 1)
    assert query(warehouse, "select product_id, name from raw.products order by 1") == [
        ("P1", "Mug"),
        ("P2", "Pen"),
    ]
    reasons = [r for _, r in quarantined(warehouse, "products")]
    assert reasons == [
        "conflict: product_id 'P1' appears earlier in this file (row 1) with different content",
        "conflict: product_id 'P2' was already accepted with different content (products/p1.csv row 4)",
    ]


def test_customer_versions_are_rows_of_their_own(landing, warehouse):
    landing.minimal()
    landing.write(
        "customers", "c2.csv",
        landing.HEADERS["customers"] + "\nC1,new@x.test,2025-01-01,2025-03-01\nC1,a@x.test,2025-01-01,2025-01-01 00:00:00Z",
    )  # fmt: skip
    loads = {load.file: load for load in ingest(landing.root, warehouse, loaded_at=NOW)}
    assert (loads["customers/c2.csv"].rows_accepted, loads["customers/c2.csv"].rows_duplicate) == (
        1,
        1,
    )
    assert query(warehouse, "select count(*) from raw.customers where customer_id = 'C1'") == [(2,)]


def test_manual_tags_have_no_key_so_only_exact_copies_collapse(landing, warehouse):
    landing.minimal()
    head = "customer_id,tag,action,actor,team,created_at,note\n"
    landing.write(
        "manual_tags", "m.csv",
        head + "C1,VIP,add,anna,sales,2025-01-01,\nC1,VIP,add,anna,sales,2025-01-01,\nC1,VIP,remove,anna,sales,2025-01-01,",
    )  # fmt: skip
    [load] = [
        x for x in ingest(landing.root, warehouse, loaded_at=NOW) if x.source == "manual_tags"
    ]
    assert (load.rows_accepted, load.rows_duplicate, load.rows_quarantined) == (2, 1, 0)


def test_timestamps_with_offsets_are_stored_in_utc(landing, warehouse):
    landing.minimal()
    landing.write(
        "orders", "o2.csv",
        landing.HEADERS["orders"] + "\nO2,C1,2025-02-01T01:30:00+02:00,completed,store,\nO3,C1,2025-02-01 10:00,completed,web,",
    )  # fmt: skip
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert query(
        warehouse,
        "select order_id, ordered_at::varchar from raw.orders where order_id <> 'O1' order by 1",
    ) == [
        ("O2", "2025-01-31 23:30:00"),
        ("O3", "2025-02-01 10:00:00"),
    ]


def test_empty_optional_discount_reads_as_zero_and_enums_are_lower_cased(landing, warehouse):
    landing.minimal()
    landing.write(
        "orders", "o2.csv", landing.HEADERS["orders"] + "\nO2,C1,2025-02-01,Completed,WEB,"
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert query(
        warehouse,
        "select status, channel, discount_amount::varchar from raw.orders where order_id = 'O2'",
    ) == [("completed", "web", "0.00")]


def test_the_same_file_is_loaded_once(landing, warehouse):
    landing.minimal()
    ingest(landing.root, warehouse, loaded_at=NOW)
    again = ingest(landing.root, warehouse, loaded_at=NOW)
    assert all(load.skipped for load in again)
    assert query(warehouse, "select count(*) from raw.orders") == [(1,)]


def test_an_unchanged_file_is_not_read_again(landing, warehouse, monkeypatch):
    landing.minimal()
    ingest(landing.root, warehouse, loaded_at=NOW)

    def unread(path):
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr("tagwise.ingest.fingerprint", unread)
    assert all(load.skipped for load in ingest(landing.root, warehouse, loaded_at=NOW))


def test_a_file_touched_without_change_is_hashed_and_skipped(landing, warehouse):
    landing.minimal()
    ingest(landing.root, warehouse, loaded_at=NOW)
    touched = landing.root / "orders" / "o.csv"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    assert all(load.skipped for load in ingest(landing.root, warehouse, loaded_at=NOW))
    assert query(warehouse, "select count(*) from raw.orders") == [(1,)]
    assert query(  # the new time is recorded, so the next run does not hash it again
        warehouse,
        "select count(*) from raw.load_log where modified_at = "
        f"make_timestamp({touched.stat().st_mtime_ns // 1000})",
    ) == [(1,)]


def test_a_changed_file_with_the_same_name_adds_only_its_new_rows(landing, warehouse):
    landing.minimal()
    ingest(landing.root, warehouse, loaded_at=NOW)
    landing.write(
        "orders",
        "o.csv",
        landing.HEADERS["orders"]
        + "\nO1,C1,2025-02-01T10:00:00Z,completed,web,\nO2,C1,2025-02-03,completed,web,",
    )
    [load] = [x for x in ingest(landing.root, warehouse, loaded_at=NOW) if not x.skipped]
    assert (load.rows_read, load.rows_accepted, load.rows_duplicate) == (2, 1, 1)
    assert query(warehouse, "select count(*) from raw.orders") == [(2,)]
    assert query(warehouse, "select count(*) from raw.load_log where file = 'orders/o.csv'") == [
        (2,)
    ]


def test_optional_sources_may_be_absent_and_read_as_empty(landing, warehouse):
    landing.minimal()
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert query(warehouse, "select count(*) from raw.web_events") == [(0,)]


def test_a_missing_required_source_names_it(landing, warehouse):
    landing.write(
        "customers", "c.csv", landing.HEADERS["customers"] + "\nC1,,2025-01-01,2025-01-01"
    )
    with pytest.raises(
        IngestError, match=r"required source\(s\) without files: orders .*, order_lines"
    ):
        ingest(landing.root, warehouse, loaded_at=NOW)
    assert not warehouse.exists()


def test_optional_columns_may_be_left_out_of_the_header(landing, warehouse):
    landing.minimal()
    landing.write(
        "orders", "o2.csv", "order_id,customer_id,ordered_at,status\nO2,C1,2025-02-01,completed"
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert query(
        warehouse, "select channel, discount_amount::varchar from raw.orders where order_id = 'O2'"
    ) == [(None, "0.00")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.csv",
            "order_id,customer_id,ordered_at,status\nO2,C1,2025-02-01,compl\xe9ted".encode(
                "latin-1"
            ),
            "orders/bad.csv: cannot be read",
        ),
        (
            "head.csv",
            b"order_id,customer,ordered_at\nO2,C1,2025-02-01",
            "orders/head.csv: header lacks required column(s) customer_id, status",
        ),
        ("empty.csv", b"", "orders/empty.csv: the file is empty"),
        (
            "twice.csv",
            b"order_id,order_id,customer_id,ordered_at,status\n",
            "header repeats column(s) order_id",
        ),
        (
            "ragged.csv",
            b"order_id,customer_id,ordered_at,status\nO2,C1,2025-02-01,completed,extra,cells",
            "orders/ragged.csv: cannot be read",
        ),
        (
            "header.csv",
            "order_id,customer_id,ordered_at,st\xe4tus\n".encode("latin-1"),
            "orders/header.csv: the header is not UTF-8 text",
        ),
    ],
)
def test_an_unreadable_file_stops_with_its_name_and_keeps_earlier_loads(
    landing, warehouse, name, content, message
):
    landing.minimal()
    landing.write("orders", name, content)
    with pytest.raises(IngestError) as caught:
        ingest(landing.root, warehouse, loaded_at=NOW)
    assert message in str(caught.value)
    # customers were loaded before orders and stay; the bad file wrote nothing
    assert query(warehouse, "select count(*) from raw.customers") == [(1,)]
    assert query(warehouse, f"select count(*) from raw.load_log where file = 'orders/{name}'") == [
        (0,)
    ]


def test_a_truncated_parquet_file_is_refused(landing, warehouse, tmp_path):
    landing.minimal()
    good = tmp_path / "whole.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": ["O2"],
                "customer_id": ["C1"],
                "ordered_at": ["2025-02-01"],
                "status": ["completed"],
            }
        ),
        good,
    )
    landing.write("orders", "cut.parquet", good.read_bytes()[:-20])
    with pytest.raises(IngestError, match=r"orders/cut\.parquet: cannot be read"):
        ingest(landing.root, warehouse, loaded_at=NOW)


def test_parquet_and_gzip_files_load_like_csv(landing, warehouse, tmp_path):
    landing.minimal()
    pq.write_table(
        pa.table(
            {
                "order_id": ["O2", "O3"],
                "customer_id": ["C1", "C1"],
                "ordered_at": pa.array([datetime(2025, 2, 1, tzinfo=UTC)] * 2),
                "status": ["completed", "lost"],
            }
        ),
        landing.root / "orders" / "o2.parquet",
    )
    landing.write(
        "orders",
        "o3.csv.gz",
        gzip.compress(b"order_id,customer_id,ordered_at,status\nO4,C1,2025-02-01,refunded\n"),
    )
    ingest(landing.root, warehouse, loaded_at=NOW)
    assert query(warehouse, "select order_id from raw.orders order by 1") == [
        ("O1",),
        ("O2",),
        ("O4",),
    ]
    assert quarantined(warehouse, "orders") == [
        (2, "status 'lost' is not one of completed, refunded, cancelled")
    ]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_the_spark_validation_sql_uses_spark_syntax_only(source):
    sql = (
        typed_select(source, NOW, SPARK)
        + original_cells(source.column_names, SPARK, "f")
        + create_table(source, SPARK)
    )
    assert '"' not in sql.replace("'\"'", "")  # identifiers in backticks, not double quotes
    for duckdb_only in ("regexp_matches", "::", "timestamptz", "varchar", "to_json({"):
        assert duckdb_only not in sql
    assert sql.rstrip().endswith("using parquet")
