"""The published copy opens in the DuckDB 1.x clients BI drivers embed, with the
warehouse's NOT NULL constraints and dbt's descriptions as comments."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from tagwise.expectations.suites import GUARDED_MARTS

from tagwise.publish import descriptions, direct_identifiers, publish
from tagwise.release import record_verdicts

ROOT = Path(__file__).resolve().parent.parent
# What a DuckDB 1.1 client (as Metabase's driver or an older duckdb-engine embeds) sees.
READ_WITH_AN_OLD_CLIENT = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps({
    "version": duckdb.__version__,
    "rows": con.execute("select customer_key, revenue from marts.customer_features").fetchall(),
    "table": con.execute(
        "select comment from duckdb_tables() where table_name = 'customer_features'"
    ).fetchone()[0],
    "columns": con.execute(
        "select column_name, is_nullable, comment from duckdb_columns() "
        "where table_name = 'customer_features' order by column_index"
    ).fetchall(),
}, default=str))
"""


def _uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to run a DuckDB 1.x client (make install provides it)")
    return found


@pytest.fixture
def built(tmp_path) -> Path:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.build_info (as_of_date date not null, dbt_invocation_id varchar)"
        )
        con.execute("insert into marts.build_info values ('2026-06-30', 'b1')")
        con.execute(
            "create table marts.customer_features "
            "(customer_key varchar not null, revenue decimal(38, 2))"
        )
        con.execute("insert into marts.customer_features values ('C1', 12.50), ('C2', null)")
        record_verdicts(con, ("b1", "2026-06-30"), dict.fromkeys(GUARDED_MARTS, True))
    return warehouse


def test_a_duckdb_1_1_client_opens_the_published_copy_with_constraints_and_comments(
    built, tmp_path
):
    target = tmp_path / "published.duckdb"
    documented = {
        ("marts", "customer_features"): (
            "One row per customer.",
            {"customer_key": "The customer's key; it's stable.", "gone": "not a column"},
        )
    }
    assert publish(built, target, documented) == {
        "marts.build_info": 1,
        "marts.customer_features": 2,
    }
    shown = subprocess.run(
        [_uv(), "run", "--no-project", "--quiet", "--with", "duckdb==1.1.*", "python", "-c",
         READ_WITH_AN_OLD_CLIENT, str(target)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    seen = json.loads(shown.stdout)
    assert seen["version"].startswith("1.1.")
    assert seen["rows"] == [["C1", "12.50"], ["C2", None]]
    assert seen["table"] == "One row per customer."
    assert seen["columns"] == [
        ["customer_key", False, "The customer's key; it's stable."],
        ["revenue", True, None],
    ]


def test_the_descriptions_come_from_the_dbt_manifest():
    documented = descriptions()
    table, columns = documented[("marts", "customer_features")]
    assert table
    assert columns["customer_key"]
    assert all(schema == "marts" for schema, _ in documented)


def test_the_identifiers_to_leave_out_are_known_when_no_manifest_was_written_yet(
    tmp_path, monkeypatch
):
    """A publish on a checkout where nothing had parsed the project yet (no manifest file)
    took no column for an identifier and copied every address into the BI file. The
    project is parsed then, as for every other reader of the manifest."""
    import tagwise.dbt

    monkeypatch.setattr(tagwise.dbt, "MANIFEST", tmp_path / "target" / "manifest.json")
    tagwise.dbt.manifest.cache_clear()
    try:
        marked = direct_identifiers()
    finally:
        tagwise.dbt.manifest.cache_clear()
    assert (tmp_path / "target" / "manifest.json").is_file()
    assert "email" in marked[("marts", "dim_customers")]


def test_the_bi_copy_leaves_out_direct_identifiers_unless_told_to_keep_them(
    built, tmp_path, setting
):
    """Issue 40, item 7: every BI user read email, phone, birth date and postal code in
    dim_customers and names in the audience tables. The columns dbt's YAML marks
    `meta: {identifier: direct}` (the change feed's key and payload among them) are left out;
    TAGWISE_PUBLISH_IDENTIFIERS=true keeps them."""
    with duckdb.connect(str(built)) as con:
        con.execute(
            "create table marts.dim_customers (customer_key varchar not null, email varchar, "
            "phone varchar, birth_date date, age integer, postal_code varchar, country varchar)"
        )
        con.execute(
            "insert into marts.dim_customers values "
            "('C1', 'a@x.test', '+15551230001', '1980-01-02', 46, 'SW1', 'GB')"
        )
        con.execute(
            "create table marts.audience_changes (destination varchar not null, "
            "sync_id varchar not null, key varchar not null, change varchar not null, "
            "payload varchar)"
        )
        con.execute(
            "insert into marts.audience_changes values ('email', 's1', 'a@x.test', 'add', '{}')"
        )
    marked = direct_identifiers()
    assert marked[("marts", "dim_customers")] == {
        "email", "first_name", "last_name", "phone", "birth_date", "postal_code"
    }  # fmt: skip
    assert marked[("marts", "destination_audiences")] == {"key", "first_name", "last_name"}
    assert marked[("marts", "audience_changes")] == {"key", "payload"}

    def published(path):
        with duckdb.connect(str(path), read_only=True) as con:
            return {
                table: con.execute(f"select * from marts.{table}").fetchall()
                for table in ("dim_customers", "audience_changes")
            }, {
                table: [c for (c,) in con.execute(
                    "select column_name from duckdb_columns() where table_name = ? "
                    "order by column_index", [table]).fetchall()]
                for table in ("dim_customers", "audience_changes")
            }  # fmt: skip

    publish(built, tmp_path / "bi.duckdb", {}, marked)
    rows, columns = published(tmp_path / "bi.duckdb")
    assert columns == {
        "dim_customers": ["customer_key", "age", "country"],
        "audience_changes": ["destination", "sync_id", "change"],
    }
    assert rows["dim_customers"] == [("C1", 46, "GB")]
    assert "a@x.test" not in (tmp_path / "bi.duckdb").read_bytes().decode("latin-1")

    setting("TAGWISE_PUBLISH_IDENTIFIERS", "true")
    publish(built, tmp_path / "full.duckdb", {}, marked)
    rows, columns = published(tmp_path / "full.duckdb")
    assert "email" in columns["dim_customers"] and "key" in columns["audience_changes"]
