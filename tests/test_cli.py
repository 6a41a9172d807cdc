"""The command line: output, exit codes and environment variables."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import date, datetime

import duckdb
import pytest
from click.testing import CliRunner

from tagwise.cli import main


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_generate_then_ingest_succeeds(tmp_path):
    out = tmp_path / "landing"
    result = run(
        "generate", "--customers", "200", "--seed", "3", "--out", str(out), "--dirty-rate", "0.01"
    )
    assert result.exit_code == 0, result.output
    assert "customers" in result.output
    result = run("ingest", "--landing", str(out), "--warehouse", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 0, result.output
    assert "read = accepted + quarantined + duplicates" in result.output


def test_paths_come_from_environment_variables(tmp_path):
    out = tmp_path / "landing"
    run("generate", "--customers", "50", "--out", str(out))
    env = {"TAGWISE_LANDING": str(out), "TAGWISE_WAREHOUSE": str(tmp_path / "env.duckdb")}
    assert run("ingest", env=env).exit_code == 0
    assert (tmp_path / "env.duckdb").exists()


def test_ingest_problems_exit_1_with_a_message(tmp_path):
    result = run(
        "ingest", "--landing", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb")
    )
    assert result.exit_code == 1
    assert "landing directory" in result.output and "does not exist" in result.output


def test_usage_errors_exit_2(tmp_path):
    assert run("generate", "--customers", "0").exit_code == 2
    assert run("generate", "--customers", "5", "--start", "2024-13-01").exit_code == 2
    result = run(
        "generate",
        "--customers",
        "5",
        "--start",
        "2025-01-01",
        "--end",
        "2024-01-01",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 2
    assert "before --start" in result.output


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path):
    from tagwise.warehouse import WarehouseLock

    out = tmp_path / "landing"
    run("generate", "--customers", "20", "--out", str(out))
    warehouse = tmp_path / "w.duckdb"
    with WarehouseLock(warehouse):
        result = run("ingest", "--landing", str(out), "--warehouse", str(warehouse))
    assert result.exit_code == 1
    assert "is in use by pid" in result.output and "one writer at a time" in result.output
    assert not warehouse.exists()
    assert run("ingest", "--landing", str(out), "--warehouse", str(warehouse)).exit_code == 0


def test_a_transient_lock_is_waited_out(tmp_path):
    """Another process holds DuckDB's own lock for a moment; connect retries with backoff."""
    import subprocess
    import sys
    import time

    from tagwise.warehouse import connect

    warehouse = tmp_path / "w.duckdb"
    connect(warehouse).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); print('held', flush=True); time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    began = time.perf_counter()
    with connect(warehouse) as con:
        assert con.execute("select 1").fetchone() == (1,)
    assert time.perf_counter() - began > 0.4
    holder.wait()


def test_a_run_is_refused_while_another_writes(tmp_path):
    from tagwise.warehouse import WarehouseLock

    warehouse = tmp_path / "w.duckdb"
    with WarehouseLock(warehouse):
        result = run("run", "--landing", str(tmp_path), "--warehouse", str(warehouse))
    assert result.exit_code == 1
    assert "one writer at a time" in result.output
    assert not warehouse.exists()


def test_a_failed_step_prints_its_cause_once_and_logs_the_details(landing, warehouse):
    """An unreadable landing file stops the run: one sentence naming the file and the
    reader's reason, no Dagster wrapper; the whole error is in the run's log."""
    landing.minimal()
    landing.write("orders", "broken.csv", b"order_id,customer_id,ordered_at,status\nO2,C1,x,y,z\n")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--landing",
            str(landing.root),
            "--warehouse",
            str(warehouse),
            "--as-of",
            "2026-06-30",
        ],
    )
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "orders/broken.csv: cannot be read" in errors[0]
    assert "Expected Number of Columns" in result.output
    assert "DagsterExecutionStepExecutionError" not in result.output
    assert "Error occurred while executing" not in result.output
    assert not (warehouse.parent / "logs" / "run-2026-06-30.log").exists()
    log = (warehouse.parent / "logs" / "run-2026-06-30.failed.log").read_text()
    assert ("--- failed step" in log and "Traceback" in log) or "Stack" in log or "File " in log
    report = json.loads((warehouse.parent / "logs" / "run-2026-06-30.failed.json").read_text())
    assert report["success"] is False and report["as_of"] == "2026-06-30"
    assert "orders/broken.csv: cannot be read" in report["errors"][0]
    assert report["log"] == str(warehouse.parent / "logs" / "run-2026-06-30.failed.log")


def test_root_cause_unwraps_dagster_s_wrapper():
    from dagster._utils.error import SerializableErrorInfo
    from tagwise.orchestration.run import root_cause

    cause = SerializableErrorInfo(
        "IngestError: orders/x.csv: cannot be read: bad", [], "IngestError"
    )
    wrapped = SerializableErrorInfo(
        "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op",
        [],
        "DagsterExecutionStepExecutionError",
        cause=cause,
    )
    assert root_cause(wrapped) == "orders/x.csv: cannot be read: bad"
    other = SerializableErrorInfo(
        "OSError: [Errno 28] No space left on device\non /data", [], "OSError"
    )
    assert root_cause(SerializableErrorInfo("wrapper", [], "X", context=other)) == (
        "OSError: [Errno 28] No space left on device on /data"
    )
    dbt = SerializableErrorInfo(
        "The dbt CLI process with command\n\n`dbt build`\n\nfailed with exit code `2`.\n\n"
        "Errors parsed from dbt logs:\n\nrefusing to build as of\nthe older date 2026-04-01",
        [],
        "DagsterDbtCliRuntimeError",
    )
    assert root_cause(dbt) == "dbt: refusing to build as of the older date 2026-04-01"
    hook = SerializableErrorInfo(
        "Encountered an error:\nCompilation Error in operation tagwise-on-run-start-0 "
        "(./dbt_project.yml)\n  history already records as-of date 2026-06-30; refusing to "
        "build as of the older date 2026-06-01.\n  \n  > in macro refuse_older_history_dates "
        "(macros/on_run_start.sql)\n  > called by operation tagwise-on-run-start-0",
        [],
        "DagsterDbtCliRuntimeError",
    )
    assert root_cause(hook) == (
        "history already records as-of date 2026-06-30; refusing to build as of the older "
        "date 2026-06-01."
    )


def test_an_access_report_is_refused_while_a_run_writes(tmp_path):
    """It reads a finished build: while a writer holds the warehouse it is refused at once,
    with the holder, instead of a lock traceback or a half-built read."""
    import duckdb

    from tagwise.warehouse import WarehouseLock

    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    with WarehouseLock(warehouse):
        result = CliRunner().invoke(main, ["access-report", "C1", "--warehouse", str(warehouse)])
    assert result.exit_code == 1
    assert "is in use by pid" in result.output and "Traceback" not in result.output


def test_publish_reads_a_warehouse_whose_path_holds_a_quote(tmp_path):
    import duckdb
    from tagwise.expectations.suites import GUARDED_MARTS

    from tagwise.publish import publish
    from tagwise.release import record_verdicts

    folder = tmp_path / "it's [here]"
    folder.mkdir()
    warehouse = folder / "o'brien.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.build_info as select date '2026-06-30' as as_of_date, 'b1' as dbt_invocation_id"
        )
        record_verdicts(con, ("b1", "2026-06-30"), dict.fromkeys(GUARDED_MARTS, True))
    copied = publish(warehouse, folder / "published.duckdb")
    assert copied == {"marts.build_info": 1}


def test_version_names_the_installed_package():
    from importlib.metadata import version

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip().endswith(version("tagwise"))


def test_acknowledging_an_acknowledged_sync_again_says_so_and_succeeds(tmp_path):
    from tagwise.activation.changes import create_state_tables

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_state_tables(con)
        con.execute(
            "insert into export.syncs values ('email-20260501-001', 'email', '2026-05-01', "
            "'2026-05-01 06:00', 'acknowledged', 3, 0, 1, '2026-05-01 07:00')"
        )
    result = CliRunner().invoke(main, ["ack", "email-20260501-001", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "already acknowledged" in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select status, acknowledged_at from export.syncs").fetchall() == [
            ("acknowledged", datetime(2026, 5, 1, 7, 0))
        ]


# What `--help`, `--version` and a refused run must not load: each takes seconds to import.
SLOW_IMPORTS = {"dagster", "dbt", "great_expectations", "pyspark", "numpy", "pandas", "scipy"}
_RECORD_IMPORTS = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=open(sys.argv[1], 'w')))
from tagwise.cli import main
main(sys.argv[2:], prog_name='tagwise')
"""


def _tagwise_in_a_new_process(tmp_path, *args: str):
    """(exit code, stderr, top-level modules loaded) of `tagwise ARGS` in a fresh Python."""
    import json
    import subprocess
    import sys

    loaded = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _RECORD_IMPORTS, str(loaded), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr, set(json.loads(loaded.read_text()))


def test_help_and_version_load_no_engine_or_orchestrator(tmp_path):
    commands = sorted(main.commands)
    for args in (["--help"], ["--version"], *([name, "--help"] for name in commands)):
        code, output, loaded = _tagwise_in_a_new_process(tmp_path, *args)
        assert code == 0, output
        assert not loaded & SLOW_IMPORTS, (args, loaded & SLOW_IMPORTS)
    assert "Usage: tagwise run" in _tagwise_in_a_new_process(tmp_path, "run", "--help")[1]


def _released_warehouse(path, as_of: str):
    from tagwise.history import record_release

    record_release(path, datetime.fromisoformat(as_of).date())


@pytest.mark.parametrize("refusal", ["older date", "no landing folder", "lock held"])
def test_a_refused_run_says_one_sentence_before_loading_dbt_and_keeps_the_last_log(
    tmp_path, refusal
):
    from tagwise.warehouse import WarehouseLock

    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    run("generate", "--customers", "20", "--out", str(landing))
    _released_warehouse(warehouse, "2026-06-30")
    last_good = tmp_path / "logs" / "run-2026-06-01.log"
    last_good.parent.mkdir()
    last_good.write_text("the last good run's log")
    expected = {
        "older date": "history already records as-of date 2026-06-30; refusing to build as of "
        "the older date 2026-06-01",
        "no landing folder": f"landing directory {tmp_path / 'nowhere'} does not exist",
        "lock held": "is in use by pid",
    }[refusal]
    args = ["run", "--warehouse", str(warehouse), "--as-of", "2026-06-01"]
    args += ["--landing", str(tmp_path / "nowhere" if refusal == "no landing folder" else landing)]
    with WarehouseLock(warehouse) if refusal == "lock held" else contextlib.nullcontext():
        code, output, loaded = _tagwise_in_a_new_process(tmp_path, *args)
    assert code == 1
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert expected in lines[0]
    assert not loaded & SLOW_IMPORTS, loaded & SLOW_IMPORTS
    assert last_good.read_text() == "the last good run's log"
    assert sorted(p.name for p in last_good.parent.iterdir()) == [last_good.name]


def test_the_library_never_imports_the_orchestrator():
    """Dependencies point one way: orchestration/ adapts tagwise/ to Dagster, and only the
    CLI (tagwise/cli) sits on top of both."""
    import ast
    from pathlib import Path

    library = Path(__file__).parents[1] / "tagwise"
    importers = []
    for path in library.rglob("*.py"):
        if path.is_relative_to(library / "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "orchestration" for name in names):
                importers.append(str(path.relative_to(library.parent)))
    assert not importers, importers


def test_a_backfill_before_the_latest_release_needs_full_refresh_wherever_it_ends(tmp_path):
    """Without --full-refresh a backfill starting before the latest release is refused
    before anything runs; with it the replay passes the early checks, also when it ends
    before that release."""
    from datetime import date

    from tagwise.cli.run import _refuse_early
    from tagwise.history import OlderAsOf

    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    run("generate", "--customers", "20", "--out", str(landing))
    _released_warehouse(warehouse, "2026-06-30")
    first, last = date(2026, 6, 1), date(2026, 6, 3)
    with pytest.raises(OlderAsOf, match="refusing to build as of the older date 2026-06-01"):
        _refuse_early(landing, warehouse, tmp_path / "exports", last, "duckdb", older_than=first)
    _refuse_early(landing, warehouse, tmp_path / "exports", last, "duckdb", older_than=None)


def test_sync_status_lists_each_destinations_held_pending_and_acknowledged_syncs(tmp_path):
    from tagwise.activation.changes import create_state_tables

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_state_tables(con)
    never = CliRunner().invoke(main, ["sync", "status", "--warehouse", str(warehouse)])
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into export.syncs values "
            "('email-20260430-001', 'email', '2026-04-30', '2026-04-30 06:00', 'acknowledged', 9, 0, 0, '2026-04-30 07:00'), "
            "('email-20260501-001', 'email', '2026-05-01', '2026-05-01 06:00', 'acknowledged', 3, 0, 0, '2026-05-01 07:00'), "
            "('email-20260502-001', 'email', '2026-05-02', '2026-05-02 06:00', 'pending', 1, 2, 0, null), "
            "('email-20260503-001', 'email', '2026-05-03', '2026-05-03 06:00', 'held', 0, 0, 1200, null)"
        )
        con.execute(
            "insert into export.acknowledged values "
            "('email', 'a@x.test', '{}'), ('email', 'b@x.test', '{}'), ('email', 'c@x.test', '{}')"
        )
    result = CliRunner().invoke(main, ["sync", "status", "--warehouse", str(warehouse)])
    assert never.exit_code == 0, never.output
    assert re.search(r"email\s+│\s+│\s+never synced\s+│", never.output)
    assert result.exit_code == 0, result.output
    rows = [
        [cell.strip() for cell in row.split("│")]
        for row in re.findall(r"│ email\s+│(.*)│", result.output)
    ]
    assert rows == [
        ["email-20260503-001", "held", "0", "0", "1,200", "2026-05-03 06:00", ""],
        ["email-20260502-001", "pending", "1", "2", "0", "2026-05-02 06:00", ""],
        ["email-20260501-001", "acknowledged", "3", "0", "0", "2026-05-01 07:00", "3"],
    ]


def test_sync_approve_and_reject_refuse_a_sync_that_is_not_held(tmp_path):
    from tagwise.activation.changes import create_state_tables

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_state_tables(con)
        con.execute(
            "insert into export.syncs values ('email-20260502-001', 'email', '2026-05-02', "
            "'2026-05-02 06:00', 'pending', 1, 2, 0, null)"
        )
    for verb, done in (("approve", "approved"), ("reject", "rejected")):
        result = CliRunner().invoke(
            main, ["sync", verb, "email-20260502-001", "--warehouse", str(warehouse)]
        )
        assert result.exit_code == 1
        assert (
            f"sync email-20260502-001 is pending; only a held sync can be {done}" in result.output
        )
    missing = CliRunner().invoke(main, ["sync", "approve", "nope", "--warehouse", str(warehouse)])
    assert "no sync nope" in missing.output


def test_sync_status_of_a_missing_warehouse_says_so(tmp_path):
    result = CliRunner().invoke(
        main, ["sync", "status", "--warehouse", str(tmp_path / "none.duckdb")]
    )
    assert result.exit_code == 1
    assert "does not exist; run `tagwise run` first" in result.output


def test_the_gate_summary_prints_names_verbatim_and_warnings_as_warnings(capsys):
    """Issues 40 (item 25) and 41: Rich read `[tags/customer_tags]` as markup and dropped
    it, and a mart with an error printed its warnings as failed too."""
    from tagwise.cli.display import show_run_gate

    show_run_gate(
        {
            "customer_tags": {
                "passed": 3, "warned": 1, "failed": 1, "data_docs": "docs",
                "failures": "[tags/customer_tags] Every tag is an active tag.",
                "warnings": "[tags/tags_per_customer] No customer holds more than 8 tags.",
            }
        }
    )  # fmt: skip
    printed = " ".join(capsys.readouterr().err.split())
    assert "failed customer_tags: [tags/customer_tags] Every tag is an active tag." in printed
    assert "warning customer_tags: [tags/tags_per_customer] No customer holds" in printed
    assert "failed customer_tags: [tags/tags_per_customer]" not in printed


def test_an_error_message_with_brackets_is_printed_as_written(tmp_path):
    from tagwise.activation.changes import create_state_tables

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_state_tables(con)
    result = CliRunner().invoke(
        main, ["sync", "approve", "[email, marketing]", "--warehouse", str(warehouse)]
    )
    assert result.exit_code == 1
    assert "no sync [email, marketing]" in result.output


@pytest.mark.parametrize(
    "where", ["exports/email/changes-x.csv", "exports/report.json", "published.duckdb"]
)
def test_an_access_report_is_never_written_into_the_outbox_or_over_the_published_copy(
    tmp_path, where
):
    """Issue 40, items 6 and 25: the outbox is what reverse-ETL tools sync, and --out could
    overwrite the published copy or an outbox file."""
    out = tmp_path / where
    result = CliRunner().invoke(
        main,
        ["access-report", "C1", "--warehouse", str(tmp_path / "warehouse.duckdb"),
         "--exports", str(tmp_path / "exports"), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "would be in the exports folder" in result.output or "published copy" in result.output
    assert not out.exists()


def test_the_default_access_report_folder_is_beside_the_warehouse_not_in_the_exports(tmp_path):
    from tagwise.activation.redaction import access_report_path

    path = access_report_path(tmp_path / "data" / "warehouse.duckdb", "k1", "2026-06-30")
    assert path == tmp_path / "data" / "access-reports" / "k1-2026-06-30.json"


@pytest.mark.parametrize(
    "command",
    [["validate", "--exports", "x"], ["export", "--exports", "x"], ["ack", "email-20260630-001"],
     ["sync", "status"], ["sync", "approve", "email-20260630-001", "--exports", "x"],
     ["sync", "reject", "email-20260630-001", "--exports", "x"]],
)  # fmt: skip
def test_a_command_on_a_missing_warehouse_refuses_and_creates_nothing(tmp_path, command):
    """Issue 40, item 8: these created an empty warehouse, then misled ("never synced")."""
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    result = CliRunner().invoke(main, [*command, "--warehouse", str(warehouse)])
    assert result.exit_code == 1, result.output
    assert "does not exist; run `tagwise run` first" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()


def test_a_run_dated_long_after_the_data_says_so_and_names_as_of(tmp_path):
    """Issue 40, item 4: `tagwise run` without --as-of built as of today on data ending
    months earlier, without a word."""
    from tagwise.summary import data_gap

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.orders as select timestamp '2026-06-30 10:00' as ordered_at")
        con.execute(
            "create table raw.web_events as select timestamp '2026-06-28 10:00' as occurred_at"
        )
    assert data_gap(warehouse, date(2026, 7, 3)) is None
    gap = data_gap(warehouse, date(2026, 12, 6))
    assert gap is not None and "the newest purchase, email or web event is of 2026-06-30" in gap
    assert "159 days" in gap and "--as-of 2026-06-30" in gap


def test_the_init_hint_names_as_of(tmp_path):
    result = CliRunner().invoke(main, ["init", str(tmp_path / "acme")])
    assert result.exit_code == 0, result.output
    assert "run --as-of D" in " ".join(result.output.split())


def test_after_a_killed_run_explain_and_access_report_refuse_the_partial_build(tmp_path):
    """Issue 40, item 25: after kill -9 of a run, explain and access-report read the
    unfinished build as finished. The killed writer's `pid N since T` stays in the lock
    file (a clean exit empties it)."""
    from tagwise.warehouse import WarehouseLock

    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    with WarehouseLock(warehouse):
        pass  # a run that finished
    lock = warehouse.with_name("warehouse.duckdb.lock")
    assert lock.read_text() == ""
    lock.write_text("pid 4242 since 2026-06-30 06:00:00 UTC")  # one that was killed
    for command in (["explain", "C1"], ["access-report", "C1", "--out", str(tmp_path / "r.json")]):
        result = CliRunner().invoke(main, [*command, "--warehouse", str(warehouse)])
        assert result.exit_code == 1, result.output
        flat = " ".join(result.output.split())
        assert "(pid 4242 since 2026-06-30 06:00:00 UTC) did not finish" in flat


def test_dbt_progress_is_shown_on_a_terminal_only(monkeypatch):
    """Issue 40, item 11: `n of N` on a terminal, rewritten in place; nothing in CI or logs."""
    import io

    from rich.console import Console

    from tagwise.cli import display

    for terminal, shown in ((True, "\r  dbt_features: 3 of 41 built\x1b[K"), (False, "")):
        out = io.StringIO()
        monkeypatch.setattr(display, "console", Console(file=out, force_terminal=terminal))
        display.show_progress("dbt_features", 3, 41)
        assert out.getvalue() == shown


def test_dbt_events_become_n_of_n_as_each_node_finishes():
    """Issue 40, item 11: `tagwise diff` built for a minute without a sign of progress.
    dbt's start lines give the total, each finished node one more."""
    from types import SimpleNamespace

    from tagwise.dbt import progress_callback

    def event(name: str, **data):
        return SimpleNamespace(info=SimpleNamespace(name=name), data=SimpleNamespace(**data))

    seen = []
    callback = progress_callback(lambda done, total: seen.append((done, total)))
    for e in (
        event("MainReportVersion"),
        event("LogStartLine", total=3, index=1),
        event("NodeFinished"),
        event("LogStartLine", total=3, index=2),
        event("NodeFinished"),
        event("NodeFinished"),
    ):
        callback(e)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_tagwise_diff_shows_each_builds_progress(monkeypatch, tmp_path):
    """The diff hands each build's progress to the terminal, naming the build."""
    import tagwise.dbt
    from tagwise import diff as diff_module

    class Stop(Exception):
        pass

    def fake_run_dbt(settings, command, select=None, exclude=None, quiet=False, on_progress=None):
        on_progress(1, 2)
        on_progress(2, 2)
        raise Stop

    monkeypatch.setattr(tagwise.dbt, "run_dbt", fake_run_dbt)
    monkeypatch.setattr(diff_module, "_copy_warehouse", lambda warehouse, to: None)
    # No copy to read the identity catalog it was built with: the catalogs' build alone.
    monkeypatch.setattr(
        diff_module, "_identity_rebuilds", lambda warehouse, base: {"before": None, "after": None}
    )

    class Build:
        def __enter__(self):
            return None, set(), date(2026, 6, 30)

        def __exit__(self, *exc):
            return False

    import tagwise.privacy

    monkeypatch.setattr(tagwise.privacy, "latest_build", lambda warehouse: Build())
    seen = []
    with pytest.raises(Stop):
        diff_module.diff(
            tmp_path / "warehouse.duckdb",
            base="HEAD",
            on_progress=lambda *shown: seen.append(shown),
        )
    assert seen == [("building the base catalogs", 1, 2), ("building the base catalogs", 2, 2)]
