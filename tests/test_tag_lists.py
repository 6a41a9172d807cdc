"""A file of customer ids as manual tags (`tagwise tag-list`, SPEC 3.10's "a file of
customer ids" seed): what it writes is what ingestion accepts, and a bad list or tag is
refused naming the file, row or tag, with nothing written."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import duckdb
import pytest
from click.testing import CliRunner

from tagwise.cli import main
from tagwise.ingest import ingest
from tagwise.tag_lists import TagListError, write_tag_list

AT = datetime(2026, 6, 29, 9, 30, tzinfo=UTC)


def _ids(tmp_path, text: str):
    path = tmp_path / "guests.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_listed_customer_lands_as_one_manual_add_that_ingestion_accepts(
    tmp_path, landing, warehouse
):
    landing.minimal()
    listed = write_tag_list(
        _ids(tmp_path, "customer_id,name\nC1,Ann\nC2,Bo\nC1,Ann again\n C3 ,Cy\n"),
        "key-account", "anna.k", "marketing", landing.root, AT,
    )  # fmt: skip
    assert (listed.customers, listed.duplicates, listed.tag) == (3, 1, "key-account")
    assert listed.written == landing.root / "manual_tags" / "list-key-account-20260629T093000Z.csv"
    [load] = [x for x in ingest(landing.root, warehouse, loaded_at=AT) if x.source == "manual_tags"]
    assert (load.rows_accepted, load.rows_quarantined) == (3, 0)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select customer_id, tag, action, actor, team, created_at::varchar, note "
            "from raw.manual_tags order by customer_id"
        ).fetchall()
    assert rows == [
        (
            c,
            "key-account",
            "add",
            "anna.k",
            "marketing",
            "2026-06-29 09:30:00",
            "listed in guests.csv",
        )
        for c in ("C1", "C2", "C3")
    ]


def test_a_synonym_is_written_as_the_tag_it_stands_for(tmp_path):
    listed = write_tag_list(
        _ids(tmp_path, "customer_id\nC1\n"), "vip", "a", "sales", tmp_path / "landing", AT
    )
    assert listed.tag == "high-value"


@pytest.mark.parametrize(
    ("text", "tag", "problem"),
    [
        ("id\nC1\n", "key-account", "guests.csv: the header (id) has no customer_id column"),
        ("customer_id,name\nC1,a\n\n,b\n", "key-account", "guests.csv row 4: customer_id is empty"),
        ("customer_id\n", "key-account", "guests.csv: no customer id below the header"),
        ("customer_id\nC1\n", "event-guest", "tag 'event-guest' is no active tag or synonym"),
        ("customer_id\nC1\n", "big-spender", "tag 'big-spender' is no active tag or synonym"),
    ],
)
def test_a_bad_list_or_tag_is_refused_naming_it_and_nothing_is_written(
    tmp_path, text, tag, problem
):
    with pytest.raises(TagListError, match=re.escape(problem)):
        write_tag_list(_ids(tmp_path, text), tag, "a", "sales", tmp_path / "landing", AT)
    assert not list((tmp_path / "landing").rglob("*.csv"))


def test_the_command_reports_what_it_wrote_and_never_overwrites(tmp_path):
    ids = _ids(tmp_path, "customer_id\nC1\nC1\nC2\n")
    arguments = [
        "tag-list", str(ids), "--tag", "key-account", "--actor", "anna.k", "--team",
        "marketing", "--at", "2026-06-29", "--landing", str(tmp_path / "landing"),
    ]  # fmt: skip
    done = CliRunner().invoke(main, arguments)
    assert done.exit_code == 0, done.output
    assert "2 customers tagged key-account (1 repeated ids folded)" in done.output
    again = CliRunner().invoke(main, arguments)
    assert again.exit_code == 1 and "already exists; nothing was written" in again.output
    assert len(list((tmp_path / "landing" / "manual_tags").iterdir())) == 1
