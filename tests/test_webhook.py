"""SPEC 3.7 rule 6: a webhook destination gets its sync in batches, each with an
idempotency key, retried on 429, 5xx, timeouts and dropped connections, and resumed from
the first unacknowledged batch on the next run. The receiver is a real HTTP server on
127.0.0.1 that answers as each test scripts it and counts what it applied."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from conftest import record_erasure, set_audience

from tagwise.activation import webhook
from tagwise.activation.changes import ExportError, HoldThresholds
from tagwise.activation.redaction import erase_from_exports
from tagwise.activation.status import sync_status
from tagwise.activation.syncs import acknowledge, approve, export
from tagwise.warehouse import connect

THRESHOLDS = HoldThresholds(share=0.2, min_people=100)


@pytest.fixture
def gated(gated):
    """The gated warehouse (conftest) with 35 people in the audience."""
    with connect(gated) as con:
        _audience(con, range(35))
    return gated


def _audience(con, people: range) -> None:
    set_audience(
        con,
        "select 'p' || lpad(n::varchar, 3, '0') || '@x.test' as email, 'A' as first_name, "
        "'B' as last_name, 'active' as primary_segment, 'x, y' as audiences, '' as tags, "
        f"date '2026-05-02' as updated_on from range({people.start}, {people.stop}) t(n)",
    )


def _export(warehouse: Path, tmp_path: Path):
    return export(warehouse, "webhook", tmp_path / "exports", THRESHOLDS)


def _keys(sync_id: str, batches: int) -> list[str]:
    return [f"{sync_id}-{n}" for n in range(1, batches + 1)]


def _status(warehouse: Path, sync_id: str) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select status from export.syncs where sync_id = ?", [sync_id]
        ).fetchone()[0]


def test_batches_arrive_once_each_through_429_500_timeouts_and_dropped_connections(
    gated, receiver, tmp_path
):
    receiver.script = ["429", "500", "ok", "timeout", "close", "ok", "500", "ok", "ok"]
    sync = _export(gated, tmp_path)
    keys = _keys(sync.sync_id, 4)  # 35 adds in batches of 10
    assert sync.delivery == "4 of 4 batches acknowledged"
    assert receiver.applied == Counter(keys)  # none lost, none applied twice
    assert receiver.answered_ok == Counter(keys)  # never sent again after a 2xx
    assert [key for key, *_ in receiver.posts] == [keys[0]] * 3 + [keys[1]] * 3 + [keys[2]] * 2 + [
        keys[3]
    ]
    (_, _, asked), (_, _, again) = receiver.posts[0], receiver.posts[1]
    assert again - asked >= 0.9  # Retry-After: 1 was honoured
    sent = [row for key in keys for row in receiver.rows[key]]
    assert [row["email"] for row in sent] == [f"p{n:03d}@x.test" for n in range(35)]
    assert sent[0] == {
        "email": "p000@x.test",
        "change": "add",
        "row": {"audiences": ["x", "y"], "primary_segment": "active", "tags": [], "updated_on": "2026-05-02"},
    }  # fmt: skip
    assert all(h["Authorization"] == "Bearer s3cret" for h in receiver.headers)
    assert _status(gated, sync.sync_id) == "acknowledged"  # the last 2xx acknowledged the sync
    outbox = tmp_path / "exports" / "webhook"
    assert sync.files == () and not [p for p in outbox.iterdir() if p.is_file()]


def test_a_batch_still_failing_leaves_the_sync_pending_and_the_next_run_resumes_there(
    gated, receiver, tmp_path
):
    receiver.script = ["ok", "500", "500", "500"]  # batch 2 fails all 3 tries of this run
    first = _export(gated, tmp_path)
    keys = _keys(first.sync_id, 4)
    assert first.delivery == (
        "1 of 4 batches acknowledged; batch 2 failed after 3 tries (500); "
        "the next run resends from batch 2"
    )
    assert _status(gated, first.sync_id) == "pending"
    assert all(path.exists() for path in first.files)  # kept while the sync is pending
    again = _export(gated, tmp_path)
    assert (again.sync_id, again.resent, again.delivery) == (
        first.sync_id, True, "4 of 4 batches acknowledged"
    )  # fmt: skip
    assert receiver.applied == Counter(keys)
    assert receiver.answered_ok == Counter(keys)
    assert [key for key, *_ in receiver.posts].count(keys[0]) == 1
    assert _status(gated, first.sync_id) == "acknowledged"


def test_a_crash_between_two_batches_resumes_without_sending_one_twice(
    gated, receiver, tmp_path, monkeypatch
):
    """tagwise dies after the receiver applied batch 2 but before recording its answer:
    the next run sends batch 2 again with the same key, and the receiver applies it once."""
    calls = []
    post = webhook.requests.Session.post

    def dies_after_the_second_answer(self, *args, **kwargs):
        answer = post(self, *args, **kwargs)
        calls.append(answer.status_code)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is killed
        return answer

    monkeypatch.setattr(webhook.requests.Session, "post", dies_after_the_second_answer)
    with pytest.raises(KeyboardInterrupt):
        _export(gated, tmp_path)
    monkeypatch.setattr(webhook.requests.Session, "post", post)
    with duckdb.connect(str(gated), read_only=True) as con:
        (sync_id,) = con.execute("select sync_id from export.syncs").fetchone()
    keys = _keys(sync_id, 4)
    resumed = _export(gated, tmp_path)
    assert resumed.delivery == "4 of 4 batches acknowledged"
    assert [key for key, *_ in receiver.posts] == [keys[0], keys[1], keys[1], keys[2], keys[3]]
    assert receiver.applied == Counter(keys)


def test_without_a_url_nothing_is_computed_or_sent(gated, setting, tmp_path):
    setting("TAGWISE_WEBHOOK_URL", None)
    with pytest.raises(webhook.WebhookError, match="TAGWISE_WEBHOOK_URL"):
        _export(gated, tmp_path)
    with duckdb.connect(str(gated), read_only=True) as con:
        assert con.execute("select count(*) from export.syncs").fetchone()[0] == 0


def test_an_erasure_leaves_the_batches_still_to_send_without_the_person(gated, receiver, tmp_path):
    receiver.script = ["ok", "500", "500", "500"]
    first = _export(gated, tmp_path)
    record_erasure(gated, "p015@x.test", "p020@x.test")
    erase_from_exports(gated, tmp_path / "exports")
    with duckdb.connect(str(gated), read_only=True) as con:
        ranges = con.execute(
            "select batch, first_key, last_key from export.webhook_batches order by batch"
        ).fetchall()
    assert ranges[0] == (1, None, None)  # acknowledged: its range is gone
    assert ranges[2] == (3, "p021@x.test", "p029@x.test")  # p020 was its first key
    with connect(gated) as con:
        delivery = webhook.deliver(con, "webhook", first.sync_id, webhook.Webhook.from_settings())
    assert delivery.describe() == "4 of 4 batches acknowledged"
    sent = {key: [row["email"] for row in rows] for key, rows in receiver.rows.items()}
    keys = _keys(first.sync_id, 4)
    assert sent[keys[1]] == [f"p{n:03d}@x.test" for n in range(10, 20) if n != 15]
    assert sent[keys[2]] == [f"p{n:03d}@x.test" for n in range(21, 30)]


def test_a_held_sync_is_posted_only_once_approved(gated, receiver, tmp_path):
    first = _export(gated, tmp_path)
    assert first.delivery == "4 of 4 batches acknowledged"
    with connect(gated) as con:
        _audience(con, range(200))  # 165 adds to 35 acknowledged: held
    held = _export(gated, tmp_path)
    assert held.held and held.delivery is None and len(receiver.posts) == 4
    approved = approve(gated, held.sync_id, tmp_path / "exports")
    assert approved.delivery == "17 of 17 batches acknowledged"
    assert receiver.applied == Counter(_keys(first.sync_id, 4) + _keys(held.sync_id, 17))
    assert _status(gated, held.sync_id) == "acknowledged"


def test_sync_status_shows_how_far_a_pending_delivery_got(gated, receiver, tmp_path):
    receiver.script = ["ok", "ok", "500", "500", "500"]
    sync = _export(gated, tmp_path)
    states = {s.destination: s for s in sync_status(gated)}
    assert (states["webhook"].sync_id, states["webhook"].status) == (sync.sync_id, "pending")
    assert states["webhook"].batches == (2, 4)
    assert states["email"].status == "never synced" and states["email"].batches is None


def test_a_redirect_is_not_an_acknowledgement(gated, receiver, tmp_path):
    """requests would follow a 302 with a GET and no body; 3xx is not 2xx."""
    receiver.script = ["302"]
    sync = _export(gated, tmp_path)
    assert sync.delivery.startswith(
        "0 of 4 batches acknowledged; batch 1 failed after 1 tries (302)"
    )
    assert [answer for _, answer, _ in receiver.posts] == ["302"]
    assert _status(gated, sync.sync_id) == "pending"


def test_a_long_or_unreadable_retry_after_neither_holds_the_run_nor_crashes_it(
    gated, receiver, tmp_path, monkeypatch
):
    monkeypatch.setattr(webhook.BoundedRetry, "MAX_RETRY_AFTER", 0.3)
    receiver.script = ["429-hour", "429-unreadable"]
    started = time.monotonic()
    sync = _export(gated, tmp_path)
    assert time.monotonic() - started < 30
    assert sync.delivery == "4 of 4 batches acknowledged"
    (_, _, hour), (_, _, unreadable), (_, _, ok) = receiver.posts[:3]
    assert 0.25 <= unreadable - hour < 5  # waited the ceiling, not the hour
    assert ok - unreadable < 5  # `soon`: the usual back-off (0.01 s here)


def test_a_partly_delivered_sync_is_not_acknowledged_by_hand(gated, receiver, tmp_path):
    """Issue 40, item 21: `tagwise ack` at 2 of 4 batches would leave batches 3 and 4 unsent
    for good; it is refused, and the next run delivers them."""
    receiver.script = ["ok", "ok", "500", "500", "500"]
    sync = _export(gated, tmp_path)
    with pytest.raises(ExportError, match="2 of 4 webhook batches"):
        acknowledge(gated, sync.sync_id)
    assert _status(gated, sync.sync_id) == "pending"
    again = _export(gated, tmp_path)
    assert again.delivery == "4 of 4 batches acknowledged"
    assert _status(gated, sync.sync_id) == "acknowledged"


def test_approving_a_webhook_sync_on_the_command_line_reports_its_delivery(
    gated, receiver, tmp_path
):
    """Issue 40, item 25: `tagwise sync approve` of a webhook sync crashed after success
    (a delivered sync keeps no files to name)."""
    from click.testing import CliRunner

    from tagwise.cli import main

    _export(gated, tmp_path)
    with connect(gated) as con:
        _audience(con, range(200))
    held = _export(gated, tmp_path)
    result = CliRunner().invoke(
        main,
        ["sync", "approve", held.sync_id, "--warehouse", str(gated),
         "--exports", str(tmp_path / "exports")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"approved {held.sync_id}: 165 add" in result.output
    assert "17 of 17 batches acknowledged" in result.output


def test_a_webhook_that_keeps_failing_fails_the_command_naming_the_destination(
    gated, receiver, tmp_path
):
    """Issue 40, item 25: a webhook failing with 500s ended the run with exit 0; the README
    says the run ends failed, naming the destination (the Dagster export asset raises the
    same error, so the daily run's report fails too)."""
    from click.testing import CliRunner

    from tagwise.cli import main

    receiver.script = ["500"] * 3
    result = CliRunner().invoke(
        main,
        ["export", "--destination", "webhook", "--warehouse", str(gated),
         "--exports", str(tmp_path / "exports")],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "destination webhook: the webhook delivery of sync" in flat
    assert "0 of 4 batches acknowledged" in flat and "it stays pending" in flat


def test_a_sync_superseded_mid_delivery_sends_neither_a_batch_twice_nor_a_needless_remove(
    gated, receiver, tmp_path
):
    """Issue 40, item 20: batches 1 and 2 were acknowledged, batch 3 failed, batch 4 was
    never POSTed, and p032 (in batch 4) was erased. The sync that supersedes it re-sent
    batches 1 and 2's rows under new idempotency keys and sent a remove for p032, whom the
    receiver never got (SPEC 3.7, rule 6)."""
    receiver.script = ["ok", "ok", "500", "500", "500"]
    first = _export(gated, tmp_path)
    assert first.delivery.startswith("2 of 4 batches acknowledged")
    record_erasure(gated, "p032@x.test")
    erase_from_exports(gated, tmp_path / "exports")
    with connect(gated) as con:
        _audience(con, range(36))  # p035 joins; p032 is gone (erased)
        con.execute("delete from marts.destination_audiences where key = 'p032@x.test'")
    second = _export(gated, tmp_path)
    assert second.sync_id != first.sync_id and second.delivery == "2 of 2 batches acknowledged"
    changes = {
        row["email"]: row["change"]
        for key in _keys(second.sync_id, 2)
        for row in receiver.rows[key]
    }
    delivered = {f"p{n:03d}@x.test" for n in range(20)}
    assert not delivered & set(changes), "rows of acknowledged batches were sent again"
    assert "p032@x.test" not in changes, "a remove for a key the receiver never got"
    # Batch 3 may have been applied before it failed: its rows go again; batch 4's too.
    assert set(changes) == {f"p{n:03d}@x.test" for n in range(20, 36) if n != 32}
    assert set(changes.values()) == {"add"}


def test_a_receiver_that_drips_its_answer_cannot_hold_the_run(gated, receiver, tmp_path, setting):
    """Issue 40, item 24: a header line every 0.1 s never trips the 0.5 s read timeout; the
    delivery's deadline ends it, and the sync stays pending for the next run."""
    setting("TAGWISE_WEBHOOK_DEADLINE", "1.5")
    receiver.script = ["ok", "drip"]
    started = time.monotonic()
    sync = _export(gated, tmp_path)
    assert time.monotonic() - started < 10
    assert sync.delivery.startswith(
        "1 of 4 batches acknowledged; batch 2 failed after 1 tries (the delivery's 1.5 s deadline passed)"
    )
    assert _status(gated, sync.sync_id) == "pending"
