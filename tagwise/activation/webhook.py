"""Delivery of a sync to a webhook destination (SPEC 3.7, rule 6).

The sync's change rows, in key order, are cut into batches of at most
TAGWISE_WEBHOOK_BATCH_SIZE rows when the sync is first delivered; the plan is kept in
`export.webhook_batches` as key ranges. Each batch is POSTed as one JSON document with an
`Idempotency-Key` header (`<sync_id>-<batch>`) that stays the same on every try and every
run, so a receiver that saw a batch already (its answer was lost to a timeout or a closed
connection) can answer without applying it again. urllib3 retries a batch on 429 and 5xx,
on timeouts and on dropped connections: at once, then after TAGWISE_WEBHOOK_BACKOFF
seconds doubled per try, or after what `Retry-After` says; TAGWISE_WEBHOOK_MAX_TRIES tries
in all. A 2xx
acknowledges the batch, and an acknowledged batch is never sent again. A batch that still
fails ends the delivery for this run: the sync stays pending and the next run starts from
the first batch not acknowledged. Once every batch is acknowledged, the sync is.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from tagwise.activation.changes import audience_changes, change_record
from tagwise.activation.destinations import destinations
from tagwise.errors import TagwiseError
from tagwise.relations import source

# Answers worth another try: the receiver is busy (429) or failing for now (5xx).
RETRIED_STATUSES = (429, 500, 502, 503, 504)


class WebhookError(TagwiseError):
    """The webhook destination is not configured; nothing was sent."""


class BoundedRetry(Retry):
    """urllib3's Retry, but a `Retry-After` is waited at most MAX_RETRY_AFTER seconds (a
    receiver asking for an hour would hold the daily run; the tries end and the next run
    resumes), and one that cannot be read means the usual back-off, not a crash."""

    MAX_RETRY_AFTER = 120.0  # urllib3's own ceiling for its back-off

    def get_retry_after(self, response) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None
        return None if seconds is None else min(seconds, self.MAX_RETRY_AFTER)


@dataclass(frozen=True)
class Webhook:
    url: str
    headers: dict[str, str]
    batch_size: int
    max_tries: int
    backoff: float
    timeout: float
    deadline: float = 600.0

    @classmethod
    def from_settings(cls) -> Webhook:
        """The settings' webhook; without a URL nothing may be sent, so this refuses."""
        from tagwise.settings import current, variable

        settings = current()
        if not settings.webhook_url:
            raise WebhookError(
                f"the webhook destination has no URL: set {variable('webhook_url')}; "
                "nothing was computed or sent"
            )
        headers = {}
        if settings.webhook_auth_header is not None:
            name, colon, value = settings.webhook_auth_header.get_secret_value().partition(":")
            if not colon or not name.strip():
                raise WebhookError(
                    f"{variable('webhook_auth_header')} must read `Name: value`; nothing was sent"
                )
            headers[name.strip()] = value.strip()
        return cls(
            settings.webhook_url,
            headers,
            settings.webhook_batch_size,
            settings.webhook_max_tries,
            settings.webhook_backoff,
            settings.webhook_timeout,
            settings.webhook_deadline,
        )

    def session(self) -> requests.Session:
        retry = BoundedRetry(
            total=self.max_tries - 1,
            # urllib3 retries at once, then waits factor * 2 ** (retries - 1): backoff, 2 backoff...
            backoff_factor=self.backoff / 2,
            status_forcelist=RETRIED_STATUSES,
            allowed_methods=None,  # POST too: the idempotency key makes a retry safe
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        return session


@dataclass(frozen=True)
class Delivery:
    """What a run's delivery did: batches acknowledged of all, and the failure, if any."""

    acknowledged: int
    batches: int
    failure: str | None

    @property
    def complete(self) -> bool:
        return self.acknowledged == self.batches

    def describe(self) -> str:
        done = f"{self.acknowledged} of {self.batches} batches acknowledged"
        if self.failure is None:
            return done
        return f"{done}; {self.failure}; the next run resends from batch {self.acknowledged + 1}"


def _plan(
    con: duckdb.DuckDBPyConnection, destination: str, sync_id: str, changes: str, size: int
) -> None:
    """Cut the sync into batches once: later runs keep the plan whatever the settings."""
    batches = source("export", "webhook_batches")
    if con.execute(f"select 1 from {batches} where sync_id = ?", [sync_id]).fetchone():
        return
    con.execute(
        f"""
        insert into {batches}
        with numbered as (
            select key, (row_number() over (order by key) - 1) // $size + 1 as batch
            from {changes} where sync_id = $sync
        )
        select $destination, $sync, batch, max(batch) over (), min(key), max(key),
            $sync || '-' || batch, 0, null, null
        from numbered group by batch
        """,
        {"destination": destination, "sync": sync_id, "size": size},
    )


def _body(
    con: duckdb.DuckDBPyConnection, changes: str, key: str, sync_id: str, batch: tuple
) -> bytes:
    number, batches, first_key, last_key = batch
    rows = con.execute(
        f"select key, change, payload from {changes} "
        "where sync_id = ? and key between ? and ? order by key",
        [sync_id, first_key, last_key],
    ).fetchall()
    document = {
        "sync_id": sync_id,
        "batch": number,
        "batches": batches,
        "rows": [change_record(key, *row) for row in rows],
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode()


class DeadlinePassed(Exception):
    """The delivery's overall deadline passed during a POST."""


def _post_before(session: requests.Session, seconds: float, url: str, **kwargs):
    """session.post, given up once `seconds` have passed: a receiver that drips its answer
    byte by byte resets the per-read timeout forever. The POST runs in a daemon thread,
    left behind if it is still waiting (its batch is then not acknowledged and is sent
    again, under the same idempotency key, by the next run)."""
    if seconds <= 0:
        raise DeadlinePassed
    outcome: dict = {}

    def post() -> None:
        try:
            outcome["answer"] = session.post(url, **kwargs)
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=post, daemon=True, name="tagwise-webhook-post")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DeadlinePassed
    if "error" in outcome:
        raise outcome["error"]
    return outcome["answer"]


def deliver(
    con: duckdb.DuckDBPyConnection, destination: str, sync_id: str, webhook: Webhook
) -> Delivery:
    """POST the sync's batches not yet acknowledged, in order, until one fails."""
    changes, key = audience_changes(), destinations()[destination].key
    batches = source("export", "webhook_batches")
    _plan(con, destination, sync_id, changes, webhook.batch_size)
    plan = con.execute(
        f"select batch, batches, first_key, last_key, idempotency_key, acknowledged_at "
        f"from {batches} where sync_id = ? order by batch",
        [sync_id],
    ).fetchall()
    acknowledged = sum(1 for *_, at in plan if at is not None)
    failure = None
    deadline = time.monotonic() + webhook.deadline
    with webhook.session() as session:
        for number, total, first_key, last_key, idempotency_key, at in plan:
            if at is not None:
                continue
            body = _body(con, changes, key, sync_id, (number, total, first_key, last_key))
            headers = {
                **webhook.headers,
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
            }
            try:
                # A redirect is not followed: requests would repeat a POST as a GET,
                # without the batch. Only a 2xx says the receiver took it.
                answer = _post_before(
                    session,
                    deadline - time.monotonic(),
                    webhook.url,
                    data=body,
                    headers=headers,
                    timeout=webhook.timeout,
                    allow_redirects=False,
                )
                result, ok = str(answer.status_code), 200 <= answer.status_code < 300
                tries = len(answer.raw.retries.history) + 1 if answer.raw.retries else 1
            except requests.RequestException as error:
                result, ok, tries = type(error).__name__, False, webhook.max_tries
            except DeadlinePassed:
                result, ok, tries = (
                    f"the delivery's {webhook.deadline:g} s deadline passed",
                    False,
                    1,
                )
            # An acknowledged batch needs its key range no more: the addresses go.
            con.execute(
                f"update {batches} set tries = tries + $tries, last_result = $result, "
                "acknowledged_at = $at, first_key = if($ok, null, first_key), "
                "last_key = if($ok, null, last_key) where sync_id = $sync and batch = $batch",
                {
                    "tries": tries,
                    "result": result,
                    "at": datetime.now(UTC).replace(tzinfo=None) if ok else None,
                    "ok": ok,
                    "sync": sync_id,
                    "batch": number,
                },
            )
            if not ok:
                failure = f"batch {number} failed after {tries} tries ({result})"
                break
            acknowledged += 1
    return Delivery(acknowledged, len(plan), failure)


# The webhook batches of a sync that were never POSTed (no try, no acknowledgement).
@functools.cache
def never_posted_sql() -> str:
    return (
        f"(select * from {source('export', 'webhook_batches')} "
        "where tries = 0 and acknowledged_at is null)"
    )
