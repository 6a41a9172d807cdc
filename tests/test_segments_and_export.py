"""Segments and the email export over three as-of dates on a small crafted landing set.

C1 buys for the first time on 04-28: a new customer on 05-01, merely active on 05-30, and
no longer a first-time buyer after a second order on 05-31. C9 withdraws consent on
05-31; C10 grants it on 05-31. C2 to C8 each fail one condition of marketability.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import Landing, copy_of_run, run_cli
from tagwise.orchestration.run import build_as_of

from tagwise import publish as publishing
from tagwise.activation.redaction import erase_from_exports
from tagwise.activation.syncs import acknowledge, export
from tagwise.cli import main

D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 30), date(2026, 5, 31)
CUSTOMERS = {f"C{i}": f"c{i}@x.test" for i in range(1, 11)} | {"C8": "c8 at x.test"}
GRANT = "email,marketing,granted,form,2026-01-01"
CONSENT = [
    ("K1", "C1", "", GRANT),
    ("K2", "C2", "", "email,marketing,pending,double_opt_in,2026-01-01"),
    ("K3a", "C3", "", GRANT),
    ("K3b", "C3", "", "email,marketing,withdrawn,preference_center,2026-02-01"),
    ("K4", "C4", "", GRANT),
    ("K5", "C5", "", GRANT),
    ("K6", "", "c6@x.test", GRANT),
    ("K7", "C7", "", GRANT),
    ("K8", "C8", "", GRANT),
    ("K9a", "C9", "", GRANT),
    ("K9b", "C9", "", "email,marketing,withdrawn,preference_center,2026-05-31 08:00:00"),
    ("K10", "C10", "", "email,marketing,granted,form,2026-05-31 08:00:00"),
]
EMAIL_EVENTS = [
    ("E4", "C4", "", "unsubscribe"),
    ("E5", "C5", "", "bounce_hard"),
    ("E6", "", "c6@x.test", "complaint"),
]


def write_crafted(landing: Landing) -> Path:
    landing.write(
        "customers",
        "c.csv",
        "customer_id,email,signup_at,updated_at\n"
        + "\n".join(f"{c},{e},2026-01-01,2026-01-01" for c, e in CUSTOMERS.items()),
    )
    orders = [("O1", "C1", "2026-04-28"), ("O1b", "C1", "2026-05-31 09:00:00")] + [
        (f"O{i}", f"C{i}", "2026-04-01") for i in range(2, 11)
    ]
    landing.write(
        "orders",
        "o.csv",
        "order_id,customer_id,ordered_at,status\n"
        + "\n".join(f"{o},{c},{t},completed" for o, c, t in orders),
    )
    landing.write(
        "order_lines",
        "l.csv",
        "order_id,line_no,product_id,quantity,unit_price\n"
        + "\n".join(f"{o},1,P1,1,20.00" for o, _, _ in orders),
    )
    landing.write(
        "consent_events",
        "k.csv",
        "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
        + "\n".join(f"{e},{c},{m},{rest}" for e, c, m, rest in CONSENT),
    )
    landing.write(
        "email_campaigns",
        "m.csv",
        "campaign_id,name,sent_at,audience\nM1,Spring,2026-03-01 09:00:00,",
    )
    landing.write(
        "email_events",
        "e.csv",
        "event_id,campaign_id,customer_id,email,event_type,occurred_at\n"
        + "\n".join(f"{e},M1,{c},{m},{t},2026-03-02" for e, c, m, t in EMAIL_EVENTS),
    )
    landing.write(
        "privacy_requests",
        "p.csv",
        "request_id,customer_id,email,request_type,received_at\nR7,C7,,erasure,2026-03-01",
    )
    return landing.root


@pytest.fixture
def crafted(landing) -> Path:
    return write_crafted(landing)


@pytest.fixture(scope="module")
def first_day(tmp_path_factory) -> tuple[Path, str]:
    """The crafted landing run as of D1, once per module: (its folder, what the run
    printed). The folder holds landing/, the warehouse and all the run wrote beside it."""
    root = tmp_path_factory.mktemp("first-day")
    crafted = write_crafted(Landing(root / "landing"))
    return root, run(crafted, root / "warehouse.duckdb", root / "exports", D1)


@pytest.fixture
def after_d1(first_day, tmp_path) -> tuple[Path, Path, Path]:
    """This test's own copy of the run as of D1: (landing, warehouse, exports)."""
    return copy_of_run(first_day[0], tmp_path)


def run(crafted: Path, warehouse: Path, exports: Path, day: date) -> str:
    result = run_cli(crafted, warehouse, exports, day)
    assert result.exit_code == 0, result.output
    return result.output


def changes(sync_files) -> list[tuple[str, str]]:
    lines = sync_files[0].read_text().splitlines()[1:]
    return [(line.split(",")[1], line.split(",")[2]) for line in lines]


def digest(paths) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_only_marketable_customers_reach_the_export(first_day, after_d1):
    output = first_day[1]
    _, warehouse, exports = after_d1
    assert "wrote sync email-20260501-001: 2 add" in output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exported = {e for (e,) in con.execute("select email from marts.email_audience").fetchall()}
        reasons = dict(
            con.execute(
                "select d.source_customer_ids, m.not_marketable_because from restricted.customer_email_marketability m join marts.dim_customers d using (customer_key)"
            ).fetchall()
        )
    assert exported == {"c1@x.test", "c9@x.test"}
    assert reasons["C2"] == "email marketing consent pending"
    assert reasons["C3"] == "email marketing consent withdrawn"
    assert reasons["C4"] == "suppressed: unsubscribe"
    assert reasons["C5"] == "suppressed: bounce_hard"
    assert reasons["C6"] == "suppressed: complaint"
    assert reasons["C8"] == "no valid email"
    assert "C7" not in reasons  # erased: absent everywhere
    text = "".join(p.read_text() for p in (exports / "email").iterdir())
    for outsider in ("c2@", "c3@", "c4@", "c5@", "c6@", "c7@", "c8"):
        assert outsider not in text


@pytest.mark.e2e
def test_change_feed_over_three_dates(after_d1):
    crafted, warehouse, exports = after_d1
    acknowledge(warehouse, "email-20260501-001")

    run(crafted, warehouse, exports, D2)
    second = export(warehouse, "email", exports)
    assert second.sync_id == "email-20260530-001" and second.resent
    assert changes(second.files) == [("c1@x.test", "update")]  # new-customers -> active

    # The sync of 05-30 was never acknowledged: 05-31 supersedes it with the full difference.
    run(crafted, warehouse, exports, D3)
    third = export(warehouse, "email", exports)
    assert third.sync_id == "email-20260531-001"
    assert changes(third.files) == [  # sorted by email: "c10@" before "c1@"
        ("c10@x.test", "add"),
        ("c1@x.test", "update"),
        ("c9@x.test", "remove"),
    ]
    jsonl = third.files[1].read_text().splitlines()
    assert '"change": "remove"' in jsonl[2] and '"row": null' in jsonl[2]

    # Nothing new: the unacknowledged sync is produced again, byte for byte.
    before = digest(third.files)
    again = export(warehouse, "email", exports)
    assert again.sync_id == third.sync_id and again.resent
    assert digest(again.files) == before

    acknowledge(warehouse, third.sync_id)
    assert export(warehouse, "email", exports) is None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        statuses = dict(
            con.execute(
                "select sync_id, status from export.syncs where destination = 'email'"
            ).fetchall()
        )
        pending_changes = con.execute(
            "select count(*) from marts.audience_changes where destination = 'email'"
        ).fetchone()[0]
    assert statuses == {
        "email-20260501-001": "acknowledged",
        "email-20260530-001": "superseded",
        "email-20260531-001": "acknowledged",
    }
    assert pending_changes == 0


def erase_c9(crafted: Path) -> None:
    (crafted / "privacy_requests" / "later.csv").write_text(
        "request_id,customer_id,email,request_type,received_at\nR9,C9,,erasure,2026-05-30\n"
    )


def sync_files(exports: Path, sync_id: str) -> list[Path]:
    """The change feed (CSV, JSON Lines), the audience, and the platform's import and
    removal files of an email sync."""
    return [exports / "email" / f"{kind}-{sync_id}.{ext}"
            for kind, ext in (("changes", "csv"), ("changes", "jsonl"), ("audience", "csv"),
                              ("import", "csv"), ("remove", "csv"))]  # fmt: skip


@pytest.mark.e2e
def test_the_export_folder_keeps_only_the_pending_sync(after_d1):
    """c9 is exported and acknowledged on 05-01, then erased on 05-30: the delivered files
    leave the folder, the new change set removes c9, and the stored state forgets c9."""
    crafted, warehouse, exports = after_d1
    (exports / "email" / "notes.txt").write_text("not a sync file")
    acknowledge(warehouse, "email-20260501-001")
    erase_c9(crafted)
    output = run(crafted, warehouse, exports, D2)
    assert "wrote sync email-20260530-001" in output
    assert sorted(p.name for p in (exports / "email").iterdir()) == sorted(
        [p.name for p in sync_files(exports, "email-20260530-001")] + ["notes.txt"]
    )
    assert ("c9@x.test", "remove") in changes(sync_files(exports, "email-20260530-001"))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select payload from export.acknowledged where key = 'c9@x.test'"
        ).fetchone() == (None,)
        applied = con.execute("select email, key_sha256 from export.erasures_applied").fetchall()
        # c7 was erased before D1; only the keys' hashes are kept: each address's, and
        # that of its hash, the ads destination's key.
        sha = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
        assert {(None, sha(e)) for e in ("c7@x.test", "c9@x.test")} | {
            (None, sha(sha(e))) for e in ("c7@x.test", "c9@x.test")
        } <= set(applied)
        assert all(email is None for email, _ in applied)


@pytest.mark.e2e
def test_an_erasure_reaches_the_pending_files(after_d1):
    """The 05-01 sync is not acknowledged when c9's erasure is built: its files are
    rewritten without c9 and keep everyone else; the next pass reads no file."""
    crafted, warehouse, exports = after_d1
    erase_c9(crafted)
    ingested = CliRunner().invoke(
        main, ["ingest", "--landing", str(crafted), "--warehouse", str(warehouse)]
    )
    assert ingested.exit_code == 0, ingested.output
    assert build_as_of(warehouse, D2).success  # built, not yet released
    pending = sync_files(exports, "email-20260501-001")
    assert "c9@x.test" in pending[2].read_text()
    # One row in each file holding adds: the change feed twice, the audience, the import.
    assert erase_from_exports(warehouse, exports) == 4
    assert all("c9@x.test" not in path.read_text() for path in pending)
    assert "c1@x.test" in pending[2].read_text()
    written = {path: path.stat().st_mtime_ns for path in pending}
    assert erase_from_exports(warehouse, exports) == 0  # each address is done once
    assert {path: path.stat().st_mtime_ns for path in pending} == written


@pytest.mark.e2e
def test_segment_history_and_migration_over_three_dates(after_d1):
    crafted, warehouse, exports = after_d1
    for day in (D2, D3):
        run(crafted, warehouse, exports, day)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        key = con.execute(
            "select customer_key from marts.dim_customers where source_customer_ids = 'C1'"
        ).fetchone()[0]
        primary = con.execute(
            "select segment, entered_on, exited_on from marts.segment_membership_history where customer_key = ? and segment_type = 'primary' order by entered_on",
            [key],
        ).fetchall()
        kpis = con.execute(
            "select as_of_date, members, entered, exited from marts.segment_kpis where segment = 'new-customers' order by as_of_date"
        ).fetchall()
        migration = con.execute(
            "select from_date, to_date, from_segment, to_segment, customers from marts.segment_migration where from_segment <> to_segment"
        ).fetchall()
        primaries = con.execute(
            "select count(*), count(distinct customer_key) from marts.segment_membership where segment_type = 'primary'"
        ).fetchone()
        customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    assert primary == [("new-customers", D1, D2), ("active", D2, None)]
    assert kpis == [(D1, 1, 1, 0), (D2, 0, 0, 1)]  # no members and no exits on 05-31: no row
    assert migration == [(D1, D3, "new-customers", "active", 1)]
    assert primaries == (customers, customers)


def test_publish_is_atomic(after_d1, monkeypatch):
    _, warehouse, _ = after_d1
    published = publishing.published_path(warehouse)
    before = published.read_bytes()
    monkeypatch.setattr(publishing, "PUBLISHED_SCHEMAS", ("marts", 'no"such'))
    with pytest.raises(duckdb.Error):
        publishing.publish(warehouse, published)
    assert published.read_bytes() == before
    assert [p.name for p in published.parent.iterdir() if ".partial" in p.name] == []
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select as_of_date from marts.build_info").fetchone()[0] == D1


def history(warehouse: Path) -> dict[str, list[tuple]]:
    """Every history table, without the time a date was recorded."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            table: con.execute(f"select * {extra} from marts.{table} order by all").fetchall()
            for table, extra in (
                ("customer_tag_history", ""),
                ("segment_membership_history", ""),
                ("segment_kpis", ""),
                ("audience_overlap", ""),
                ("history_as_of_dates", "exclude (recorded_at)"),
            )
        }


@pytest.mark.e2e
def test_a_run_that_is_not_released_leaves_no_trace_in_history(after_d1, setting):
    """The run as of 05-31 fails its gate (every segment size change is an error here): the
    next run, as of the older 05-30, is not refused, and history holds no trace of 05-31."""
    from tagwise.history import forget_unreleased

    crafted, warehouse, exports = after_d1
    released = history(warehouse)
    setting("TAGWISE_MAX_SEGMENT_SIZE_CHANGE", "0")
    setting("TAGWISE_MIN_SEGMENT_SIZE_FOR_CHANGE", "1")
    failed = run_cli(crafted, warehouse, exports, D3)
    assert failed.exit_code == 1 and "release stopped" in failed.output, failed.output
    assert history(warehouse)["history_as_of_dates"] != released["history_as_of_dates"]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table copy_check as select 1")  # the warehouse is writable again
    assert forget_unreleased(warehouse, D2) == D3
    assert history(warehouse) == released
    setting("TAGWISE_MAX_SEGMENT_SIZE_CHANGE", None)
    setting("TAGWISE_MIN_SEGMENT_SIZE_FOR_CHANGE", None)
    output = run(crafted, warehouse, exports, D2)
    assert "wrote sync email-20260530-001" in output
    assert [d for (d, *_) in history(warehouse)["history_as_of_dates"]] == [D1, D2]


def test_a_future_as_of_date_is_refused_at_once(crafted, warehouse, tmp_path):
    import time
    from datetime import UTC, datetime, timedelta

    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    began = time.perf_counter()
    result = CliRunner().invoke(
        main,
        ["run", "--landing", str(crafted), "--warehouse", str(warehouse), "--as-of", tomorrow.isoformat()],
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"as-of date {tomorrow} is after today" in result.output
    assert "daily partitions end today" in result.output
    assert time.perf_counter() - began < 5  # refused before anything is built
    assert not warehouse.exists()


@pytest.mark.e2e
def test_no_command_releases_a_build_that_did_not_pass_the_gate(after_d1):
    from tagwise.release import ReleaseRefused

    _, warehouse, exports = after_d1
    published = publishing.published_path(warehouse)
    files = {p: p.read_bytes() for p in [*(exports / "email").iterdir(), published]}
    export_again = ["export", "--warehouse", str(warehouse), "--exports", str(exports)]
    with duckdb.connect(str(warehouse)) as con:  # the gate failed on this build
        con.execute(
            "insert into quality.gate_verdicts select dbt_invocation_id, as_of_date, "
            "'customer_tags', false, now() + interval 1 hour from marts.build_info"
        )
    refused = CliRunner().invoke(main, export_again)
    assert refused.exit_code == 1
    assert "did not pass the quality gate (failed on customer_tags)" in refused.output
    with pytest.raises(ReleaseRefused):
        publishing.publish(warehouse, published)
    with duckdb.connect(str(warehouse)) as con:  # a build nobody gated
        con.execute("delete from quality.gate_verdicts")
    refused = CliRunner().invoke(main, export_again)
    assert refused.exit_code == 1 and "never validated" in refused.output
    assert {p: p.read_bytes() for p in files} == files
    validated = CliRunner().invoke(
        main, ["validate", "--warehouse", str(warehouse), "--exports", str(exports)]
    )
    assert validated.exit_code == 0, validated.output
    assert CliRunner().invoke(main, export_again).exit_code == 0


@pytest.mark.parametrize(
    "name", ["warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.lock"]
)
def test_no_file_of_tagwise_overwrites_another(crafted, warehouse, tmp_path, name, setting):
    from tagwise.paths import PathCollision

    warehouse.write_bytes(b"raw data, history and sync state")
    setting("TAGWISE_PUBLISHED", str(warehouse.with_name(name)))
    with pytest.raises(PathCollision):
        publishing.publish(warehouse, publishing.published_path(warehouse))
    result = run_cli(crafted, warehouse, tmp_path / "exports", D1)
    assert result.exit_code == 1 and "would overwrite" in result.output
    report = CliRunner().invoke(
        main, ["access-report", "C1", "--warehouse", str(warehouse), "--out", str(warehouse)]
    )
    assert report.exit_code == 1 and "would overwrite the warehouse" in report.output
    overlap = CliRunner().invoke(
        main,
        ["run", "--landing", str(crafted), "--warehouse", str(tmp_path / "w2.duckdb"),
         "--exports", str(crafted / "orders")],
    )  # fmt: skip
    assert overlap.exit_code == 1 and "overlap" in overlap.output
    assert warehouse.read_bytes() == b"raw data, history and sync state"
