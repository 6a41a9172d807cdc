"""Shared fixtures: small generated landing sets and a helper to craft landing files."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from tagwise.cli import main
from tagwise.generator import GenerateConfig, generate

SMALL = 1_500
# The end-to-end modules that take longest, longest first (`pytest -m e2e --durations=0`,
# summed per file, 2026-12-08). `make test-e2e` hands whole files to its two workers in
# collection order: started first, the long ones no longer leave one worker running the
# last of them alone (about 5 of 45 minutes). A new long module belongs in this list.
LONGEST_FIRST = (
    "test_segments_and_export.py",
    "test_install.py",
    "test_orchestration.py",
    "test_upgrade_e2e.py",
    "test_tags_over_time.py",
    "test_readme.py",
    "test_sync_safety.py",
    "test_diff.py",
    "test_refresh.py",
    "test_identity_e2e.py",
    "test_bench_run.py",
    "test_erasure_files.py",
    "test_completejourney_e2e.py",
    "test_suggest.py",
    "test_lift.py",
    "test_dbt_unit_tests.py",
)
# Columns that say when a run happened or which run it was, not what it built or sent.
RUN_TIME_COLUMNS = {"built_at", "recorded_at", "dbt_invocation_id", "created_at", "released_at"}


def rows_without_run_time(con, table: str) -> list:
    """A table's rows in order, without the RUN_TIME_COLUMNS: what two runs must agree on."""
    columns = [
        name
        for (name,) in con.execute(f"select column_name from (describe {table})").fetchall()
        if name not in RUN_TIME_COLUMNS
    ]
    return con.execute(f"select {', '.join(columns)} from {table} order by all").fetchall()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files in LONGEST_FIRST order, then the rest as collected; each file's tests keep
    their order (a stable sort)."""
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(autouse=True)
def settings_read_afresh():
    """A process reads its settings once (tagwise.settings.current); each test starts
    afresh and leaves none of its own behind."""
    from tagwise.settings import current

    current.cache_clear()
    yield
    current.cache_clear()


@pytest.fixture
def setting(monkeypatch):
    """setting(variable, value) sets a setting's environment variable for this test (None
    removes it) and has it read again, as a new process would."""
    from tagwise.settings import current

    def change(variable: str, value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
        current.cache_clear()

    return change


@pytest.fixture(scope="session")
def clean_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "landing"
    generate(GenerateConfig(customers=SMALL, seed=11, out=out), workers=1)
    return out


@pytest.fixture(scope="session")
def dirty_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dirty") / "landing"
    generate(GenerateConfig(customers=SMALL, seed=11, out=out, dirty_rate=0.02), workers=1)
    return out


class Landing:
    """A landing directory written file by file, for crafted-input tests."""

    HEADERS: ClassVar[dict[str, str]] = {
        "customers": "customer_id,email,signup_at,updated_at",
        "orders": "order_id,customer_id,ordered_at,status,channel,discount_amount",
        "order_lines": "order_id,line_no,product_id,quantity,unit_price",
    }

    def __init__(self, root: Path):
        self.root = root

    def write(self, source: str, name: str, text: str | bytes) -> Path:
        path = self.root / source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text.strip() + "\n", encoding="utf-8")
        return path

    def minimal(self) -> Landing:
        """The three required sources with one valid row each."""
        self.write(
            "customers", "c.csv", self.HEADERS["customers"] + "\nC1,a@x.test,2025-01-01,2025-01-01"
        )
        self.write(
            "orders",
            "o.csv",
            self.HEADERS["orders"] + "\nO1,C1,2025-02-01T10:00:00Z,completed,web,",
        )
        self.write("order_lines", "l.csv", self.HEADERS["order_lines"] + "\nO1,1,P1,2,9.99")
        return self

    def buyers_who_consented(self, customer_ids: list[str]) -> Landing:
        """One completed order each and granted email marketing consent: customers the
        email destination selects (their customer rows are the caller's)."""
        self.write(
            "orders",
            "o.csv",
            "order_id,customer_id,ordered_at,status\n"
            + "\n".join(f"O{c},{c},2026-04-01,completed" for c in customer_ids),
        )
        self.write(
            "order_lines",
            "l.csv",
            self.HEADERS["order_lines"] + "\n" + "\n".join(f"O{c},1,P1,1,5" for c in customer_ids),
        )
        self.write(
            "consent_events",
            "k.csv",
            "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
            + "\n".join(f"K{c},{c},,email,marketing,granted,form,2026-01-01" for c in customer_ids),
        )
        return self


def run_cli(landing: Path, warehouse: Path, exports: Path, day: date):
    """`tagwise run` as of a day, in this process; the click result."""
    return CliRunner().invoke(
        main,
        ["run", "--landing", str(landing), "--warehouse", str(warehouse),
         "--exports", str(exports), "--as-of", day.isoformat()],
    )  # fmt: skip


def copy_of_run(built: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A test's own copy of a folder a module ran once (landing/, warehouse.duckdb,
    exports/ and all the run wrote beside them), where the landing and warehouse fixtures
    point: (landing, warehouse, exports). The warehouse names landing files relative to
    their folder, so the copy's next run loads only what is new."""
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    return tmp_path / "landing", tmp_path / "warehouse.duckdb", tmp_path / "exports"


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


class Browser:
    """Headless Chromium, offline: every host name fails to resolve, so a page that loads
    scripts or styles from a CDN renders as it would for a person without network."""

    def __init__(self, executable: str):
        self.executable = executable

    def _chromium(self, page: Path, *flags: str) -> str:
        import subprocess

        done = subprocess.run(
            [
                self.executable, "--headless", "--no-sandbox", "--disable-gpu",
                "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--window-size=1280,1400", "--virtual-time-budget=10000", *flags, page.as_uri(),
            ],
            capture_output=True, text=True, timeout=180, check=True,
        )  # fmt: skip
        return done.stdout

    def render(self, page: Path, png: Path) -> str:
        """Save a screenshot of the page as `png`; return its DOM after its scripts ran."""
        self._chromium(page, f"--screenshot={png}")
        return self._chromium(page, "--dump-dom")

    @staticmethod
    def pixels_near(png: Path, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
        """How many pixels of the screenshot have about this colour (a chart's line, a
        status icon): a page whose scripts or styles did not load has none of them."""
        from PIL import Image

        with Image.open(png) as image:
            colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
        return sum(
            n
            for n, c in colours
            if all(abs(a - b) <= tolerance for a, b in zip(c, rgb, strict=True))
        )


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Chromium (Debian: apt-get install chromium). Without it these checks skip, unless
    TAGWISE_REQUIRE_BROWSER is set, as CI sets it: there a missing browser fails."""
    import os
    import shutil

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("TAGWISE_REQUIRE_BROWSER"):
            pytest.fail("TAGWISE_REQUIRE_BROWSER is set but no chromium is on PATH")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return Browser(executable)


@pytest.fixture
def gated(tmp_path, monkeypatch) -> Path:
    """A warehouse whose built marts passed the gate, with every destination's export
    state: the export's own rules are tested, on audiences a test writes."""
    from tagwise.activation import syncs
    from tagwise.activation.changes import create_state_tables
    from tagwise.warehouse import connect

    monkeypatch.setattr(syncs, "require_passed_gate", lambda con: None)
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        create_state_tables(con)
        con.execute("create table marts.build_info as select date '2026-05-02' as as_of_date")
    return warehouse


def set_audience(con, email_audience_sql: str, destinations=("email", "webhook")) -> None:
    """marts.destination_audiences as dbt builds it, holding for each of the destinations
    the rows of an email audience (a query with email_audience's columns)."""
    con.execute(
        "create or replace table marts.destination_audiences as "
        "select d.destination, a.email as key, a.* exclude (email), null::varchar as phone_sha256 "
        f"from ({email_audience_sql}) as a cross join unnest(?::varchar[]) as d(destination)",
        [list(destinations)],
    )


def sha256(text: str) -> str:
    """Lower-case hex SHA-256 of the text, as the warehouse and the platforms write it."""
    return hashlib.sha256(text.encode()).hexdigest()


def record_erasure(warehouse: Path, *emails: str, phones: tuple[str, ...] = ()) -> None:
    """The identity tables of a build in which one person, who held these addresses (and
    phones, in E.164), is erased: what the erasure pass over the exports reads."""
    from tagwise.warehouse import connect

    with connect(warehouse) as con:
        con.execute("create schema restricted")
        con.execute(
            "create table restricted.int_identity__erased_people as select 'K' as customer_key"
        )
        con.execute(
            "create table restricted.int_identity__identifiers as "
            "select 'K' as customer_key, 'email' as identifier_type, "
            "unnest(?::varchar[]) as identifier, true as is_current "
            "union all select 'K', 'phone', unnest(?::varchar[]), true",
            [list(emails), list(phones)],
        )


# A webhook receiver for the webhook destination (tests/test_webhook.py).
WEBHOOK_CLIENT_TIMEOUT = 0.5
RETRY_AFTER = {"429": "1", "429-hour": "3600", "429-unreadable": "soon"}


class Receiver:
    """Answers the n-th POST as `script[n]` says (then `ok`): ok (200), 429 (with
    Retry-After: 1; 429-hour: 3600; 429-unreadable: `soon`), 500, 302 (to /elsewhere), timeout (no answer before the client gives up), close (the
    connection is dropped after the body is read), drip (a header line every 0.1 s). A batch is applied the first time its
    idempotency key arrives and is read whole, as an idempotent API does."""

    def __init__(self, script: list[str]):
        self.script = list(script)
        self.posts: list[tuple[str, str, float]] = []  # key, answer, when
        self.applied: Counter[str] = Counter()
        self.answered_ok: Counter[str] = Counter()
        self.rows: dict[str, list[dict]] = {}
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        key = handler.headers["Idempotency-Key"]
        with self._lock:
            answer = self.script.pop(0) if self.script else "ok"
            self.posts.append((key, answer, time.monotonic()))
            self.headers.append(dict(handler.headers))
            if answer in ("ok", "timeout", "close") and key not in self.rows:
                self.applied[key] += 1
                self.rows[key] = json.loads(body)["rows"]
        if answer == "close":
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if answer == "drip":  # a header line every 0.1 s, for 20 s: no read ever times out
            try:
                handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(200):
                    handler.wfile.write(b"X-Drip: .\r\n")
                    handler.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass  # the client gave up
            handler.close_connection = True
            return
        if answer == "timeout":
            time.sleep(WEBHOOK_CLIENT_TIMEOUT * 3)
        status = {"ok": 200, "timeout": 200, "500": 500, "302": 302}.get(answer, 429)
        handler.send_response(status)
        if answer == "302":
            handler.send_header("Location", "/elsewhere")
        if status == 429:
            handler.send_header("Retry-After", RETRY_AFTER[answer])
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        if status == 200 and answer == "ok":
            with self._lock:
                self.answered_ok[key] += 1


@pytest.fixture
def receiver(setting):
    """A Receiver behind a server on 127.0.0.1 and the settings that point tagwise at it."""
    state = Receiver([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.handle(self)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    setting("TAGWISE_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/audience")
    setting("TAGWISE_WEBHOOK_AUTH_HEADER", "Authorization: Bearer s3cret")
    setting("TAGWISE_WEBHOOK_BATCH_SIZE", "10")
    setting("TAGWISE_WEBHOOK_MAX_TRIES", "3")
    setting("TAGWISE_WEBHOOK_BACKOFF", "0.01")
    setting("TAGWISE_WEBHOOK_TIMEOUT", str(WEBHOOK_CLIENT_TIMEOUT))
    yield state
    server.shutdown()
    server.server_close()


def use_destinations(monkeypatch, catalog) -> None:
    """Every activation module sees `catalog()` as the destination catalog."""
    import importlib
    import pkgutil

    import tagwise.activation

    for module in pkgutil.iter_modules(tagwise.activation.__path__):
        loaded = importlib.import_module(f"tagwise.activation.{module.name}")
        if hasattr(loaded, "destinations"):
            monkeypatch.setattr(loaded, "destinations", catalog)
