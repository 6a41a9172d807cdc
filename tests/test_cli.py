"""The command line: output, exit codes and environment variables."""

from __future__ import annotations

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
