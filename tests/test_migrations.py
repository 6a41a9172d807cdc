"""Warehouse upgrades (tagwise.migrations): each step brings the shape an earlier release
wrote to today's, once, and the warehouse records it."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import duckdb
import pytest
from click.testing import CliRunner

from tagwise.contract import SOURCES
from tagwise.errors import TagwiseError
from tagwise.ingest.validation import DUCKDB, create_table
from tagwise.migrations import LATEST, STEPS, upgrade

SOURCES_BY_NAME = {source.name: source for source in SOURCES}


def recorded(warehouse) -> list[int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [
            v
            for (v,) in con.execute(
                "select version from meta.schema_migrations order by 1"
            ).fetchall()
        ]


@pytest.fixture
def older(tmp_path):
    """A warehouse in the shapes releases before each step wrote."""
    warehouse = tmp_path / "older.duckdb"
    order_lines = create_table(SOURCES_BY_NAME["order_lines"], DUCKDB).replace(
        "decimal(24, 8)", "decimal(18, 2)"
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.load_log (load_id varchar, source varchar, file varchar, "
            "fingerprint varchar, bytes bigint, rows_read bigint, rows_accepted bigint, "
            "rows_quarantined bigint, rows_duplicate bigint, loaded_at timestamp)"
        )
        con.execute(order_lines)
        con.execute("create schema export")
        con.execute("create table export.erasures_applied (email varchar, applied_at timestamp)")
        con.execute("insert into export.erasures_applied values ('a@x.test', null)")
        con.execute(
            "create table export.syncs (sync_id varchar, destination varchar, as_of_date date, "
            "created_at timestamp, status varchar, adds integer, updates integer, "
            "removes integer, acknowledged_at timestamp)"
        )
        con.execute(
            "insert into export.syncs values ('email-20260601-001', 'email', '2026-06-01', "
            "'2026-06-01', 'pending', 1, 0, 0, null)"
        )
        con.execute("create schema marts")
        con.execute(
            "create table marts.email_audience_changes (sync_id varchar not null, "
            "key varchar not null, change varchar not null, payload varchar)"
        )
        # A destination that never synced had its table too, empty.
        con.execute(
            "create table marts.webhook_audience_changes (sync_id varchar not null, "
            "key varchar not null, change varchar not null, payload varchar)"
        )
        con.execute(
            "insert into marts.email_audience_changes values "
            "('email-20260601-001', 'a@x.test', 'add', '{}')"
        )
        con.execute(
            "create table marts.history_as_of_dates (as_of_date date, recorded_at timestamp)"
        )
        con.execute("insert into marts.history_as_of_dates values ('2026-05-31', '2026-06-01')")
    return warehouse


def test_the_steps_are_numbered_in_order_and_say_what_they_do():
    assert [step.version for step in STEPS] == list(range(1, LATEST + 1))
    assert all(step.does and step.does == step.does.strip() for step in STEPS)


def test_a_new_warehouse_records_every_step_and_reports_no_upgrade(tmp_path):
    warehouse = tmp_path / "new.duckdb"
    assert upgrade(warehouse) == []
    assert not warehouse.exists()
    assert upgrade(warehouse, create=True) == []
    assert recorded(warehouse) == list(range(1, LATEST + 1))


def test_a_warehouse_an_earlier_release_wrote_takes_todays_shapes_once(older):
    assert [step.version for step in upgrade(older)] == list(range(1, LATEST + 1))
    with duckdb.connect(str(older)) as con:
        # 1: the load log records each file's modification time.
        assert "modified_at" in {c for (c, *_) in con.execute("describe raw.load_log").fetchall()}
        # 2: a unit price keeps 8 decimals.
        con.execute(
            "insert into raw.order_lines (order_id, line_no, unit_price, _source_file, "
            "_source_row, _loaded_at, _load_id) values ('O1', 1, 0.33333333, 'f', 1, now(), 'l')"
        )
        assert con.execute("select unit_price from raw.order_lines").fetchall() == [
            (Decimal("0.33333333"),)
        ]
        # 3: an erased address is kept as its hash only.
        assert con.execute("select email, key_sha256 from export.erasures_applied").fetchall() == [
            (None, hashlib.sha256(b"a@x.test").hexdigest())
        ]
        # 4: what history recorded before releases were recorded counts as released.
        assert con.execute("select as_of_date::varchar from quality.releases").fetchall() == [
            ("2026-05-31",)
        ]
        # 5: the pending sync's changes wait for its acknowledgement.
        assert con.execute(
            "select destination, sync_id, key from export.unacknowledged_changes"
        ).fetchall() == [("email", "email-20260601-001", "a@x.test")]
        # 6: the change sets of every destination are in one table, declared in dbt.
        assert con.execute(
            "select destination, sync_id, key, change from marts.audience_changes"
        ).fetchall() == [("email", "email-20260601-001", "a@x.test", "add")]
        assert {
            name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()
        }.isdisjoint({"email_audience_changes", "webhook_audience_changes"})
    assert recorded(older) == list(range(1, LATEST + 1))
    assert upgrade(older) == []


def test_a_warehouse_a_later_release_wrote_is_refused(tmp_path):
    warehouse = tmp_path / "later.duckdb"
    upgrade(warehouse, create=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"insert into meta.schema_migrations values ({LATEST + 1}, 'later', now())")
    with pytest.raises(TagwiseError, match=f"upgrade step {LATEST + 1}, newer than"):
        upgrade(warehouse)


def test_a_writing_command_upgrades_first_and_says_so(older):
    from tagwise.cli import main

    result = CliRunner().invoke(main, ["ack", "email-20260601-001", "--warehouse", str(older)])
    assert result.exit_code == 0, result.output
    assert "warehouse upgraded: step 1, load logs record" in result.output
    assert recorded(older) == list(range(1, LATEST + 1))
