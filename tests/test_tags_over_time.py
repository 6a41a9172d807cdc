"""Tags over several as-of dates through the command line, on a small crafted landing set.

C1 has three orders in early January and two on 2026-04-02: loyal-customer (3 orders in
90 days) holds as of 03-31, drops on 04-01, returns on 04-02. C2 buys once and is erased
on 04-02, which deletes its history.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tagwise.catalog import check_tag_catalog
from tagwise.cli import main
from tagwise.dbt import DbtSettings, run_dbt
from tagwise.dbt_project import PROJECT_DIR
from tagwise.ingest import ingest

D1, D2, D3 = date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 2)
ORDERS = {
    "O1": ("C1", "2026-01-01"),
    "O2": ("C1", "2026-01-02"),
    "O3": ("C1", "2026-01-03"),
    "O4": ("C1", "2026-04-02 10:00:00"),
    "O5": ("C1", "2026-04-02 11:00:00"),
    "O6": ("C2", "2026-01-05"),
}


@pytest.fixture
def crafted(landing):
    landing.write(
        "customers",
        "c.csv",
        "customer_id,email,signup_at,updated_at\nC1,a@x.test,2025-01-01,2025-01-01\nC2,b@x.test,2025-01-01,2025-01-01",
    )
    landing.write(
        "orders",
        "o.csv",
        "order_id,customer_id,ordered_at,status\n"
        + "\n".join(f"{o},{c},{t},completed" for o, (c, t) in ORDERS.items()),
    )
    landing.write(
        "order_lines",
        "l.csv",
        "order_id,line_no,product_id,quantity,unit_price\n"
        + "\n".join(f"{o},1,P1,1,10.00" for o in ORDERS),
    )
    landing.write(
        "privacy_requests",
        "p.csv",
        "request_id,customer_id,email,request_type,received_at\nR1,C2,,erasure,2026-04-02 12:00:00",
    )
    return landing.root


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def tagwise_run(landing: Path, warehouse: Path, day: date):
    result = run(
        "run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", day.isoformat()
    )
    assert result.exit_code == 0, result.output
    return result


def history(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select d.source_customer_ids, h.tag, h.source, h.valid_from, h.valid_to "
            "from marts.customer_tag_history h left join marts.dim_customers d using (customer_key) "
            "order by all"
        ).fetchall()


@pytest.mark.e2e
def test_history_over_three_dates_with_a_tag_that_drops_and_returns(crafted, warehouse):
    for day in (D1, D2):
        tagwise_run(crafted, warehouse, day)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        erased_key = con.execute(
            "select customer_key from marts.dim_customers where source_customer_ids = 'C2'"
        ).fetchone()[0]
        assert (
            con.execute(
                "select count(*) from marts.customer_tag_history where customer_key = ?",
                [erased_key],
            ).fetchone()[0]
            == 1
        )
    tagwise_run(crafted, warehouse, D3)
    rows = history(warehouse)
    assert [r for r in rows if r[1] == "loyal-customer"] == [
        ("C1", "loyal-customer", "rule", D1, D2),
        ("C1", "loyal-customer", "rule", D3, None),
    ]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert (
            con.execute(
                "select count(*) from marts.customer_tag_history where customer_key = ?",
                [erased_key],
            ).fetchone()[0]
            == 0
        )
        tagged_since = con.execute(
            "select tagged_since from marts.customer_tags where tag = 'loyal-customer'"
        ).fetchone()[0]
        usage = con.execute(
            "select added, removed from marts.tag_usage where tag = 'loyal-customer'"
        ).fetchone()
    assert tagged_since == D3
    assert usage == (1, 0)

    # The same date again changes nothing.
    tagwise_run(crafted, warehouse, D3)
    assert history(warehouse) == rows

    # An older date is refused before anything is built.
    refused = run(
        "run", "--landing", str(crafted), "--warehouse", str(warehouse), "--as-of", D2.isoformat()
    )
    assert refused.exit_code == 1
    assert "refusing to build as of the older date 2026-04-01" in refused.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select as_of_date from marts.build_info").fetchone()[0] == D3

    # Replaying the dates from the start needs asking for, and rebuilds the same history.
    replay = ("backfill", "--landing", str(crafted), "--warehouse", str(warehouse),
              "--from", D1.isoformat(), "--to", D3.isoformat())  # fmt: skip
    refused = run(*replay)
    assert refused.exit_code == 1
    assert "--full-refresh" in refused.output
    replayed = run(*replay, "--full-refresh")
    assert replayed.exit_code == 0, replayed.output
    assert history(warehouse) == rows


def test_a_new_tag_needs_only_the_catalog_and_the_taxonomy(crafted, warehouse, tmp_path):
    """Copy the project, add a taxonomy row and a rule, and the tag appears with its evidence."""
    project = tmp_path / "project" / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(PROJECT_DIR.parent / "seeds", project.parent / "seeds")
    with (project.parent / "seeds" / "tag_taxonomy.csv").open("a") as taxonomy:
        taxonomy.write(
            "big-basket,behavior,Five or more completed orders ever,marketing,active,,,22,false\n"
        )
    catalog = project / "models/intermediate/tags/tag_catalog.yml"
    catalog.write_text(
        catalog.read_text()
        + "\n          - tag: big-basket\n"
        + "            when: orders_lifetime >= 5\n"
        + '            evidence: "{orders_lifetime} completed orders so far"\n'
    )
    assert (
        check_tag_catalog(
            catalog=catalog,
            inputs_doc=project / "models/intermediate/tags/_tags__models.yml",
            seeds=project.parent / "seeds",
        )
        == 18
    )
    ingest(crafted, warehouse)
    run_dbt(DbtSettings(warehouse, D3, project_dir=project), "build", quiet=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute(
            "select evidence from marts.customer_tags where tag = 'big-basket'"
        ).fetchall()
    assert found == [("5 completed orders so far",)]
