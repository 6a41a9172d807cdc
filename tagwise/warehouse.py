"""The warehouse file: one writer at a time.

DuckDB lets one process write a database file. `WarehouseLock` makes that explicit for
tagwise's own runs: a second writing run is refused at once with a message saying who
holds the warehouse, instead of waiting or failing half-way. `connect` opens the file and
retries, with backoff, when another process (a BI tool opened read-write, a finishing run)
holds DuckDB's own lock for a moment.
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tagwise.errors import TagwiseError

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class WarehouseBusy(TagwiseError):
    """Another run is writing the warehouse."""


class WarehouseUnreadable(TagwiseError):
    """The warehouse file cannot be opened (not a DuckDB file, no permission, ...)."""


class WarehouseMissing(TagwiseError):
    """A command that reads a built warehouse was pointed at none."""


def require_built(warehouse: Path) -> None:
    """Refuse, creating nothing, when the warehouse file does not exist: opening it would
    create an empty one and every later message would mislead ("never synced")."""
    if not warehouse.is_file():
        raise WarehouseMissing(
            f"warehouse {warehouse} does not exist; run `tagwise run` first (nothing was created)"
        )


def connect(
    warehouse: Path, read_only: bool = False, delays: tuple[float, ...] = RETRY_DELAYS
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse in UTC; retry while another process holds DuckDB's file lock."""
    if not read_only:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
    for delay in (*delays, None):
        try:
            con = duckdb.connect(str(warehouse), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                reason = str(error).removeprefix("IO Error: ").splitlines()[0]
                raise WarehouseUnreadable(
                    f"cannot open the warehouse {warehouse}: {reason}"
                ) from None
            if delay is None:
                raise
            time.sleep(delay)
            continue
        con.execute("set TimeZone = 'UTC'")
        return con
    raise AssertionError("unreachable")


class WarehouseLock:
    """Held for the whole of a writing run; refused at once if another run holds it.
    `shared` is a reader's: any number may hold it, never while a run writes, so a reader
    sees a finished build and no run starts under it."""

    def __init__(self, warehouse: Path, shared: bool = False):
        self.path = warehouse.with_name(warehouse.name + ".lock")
        self.shared = shared
        self.handle = None

    def __enter__(self) -> WarehouseLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a reader (an access report)"
            handle.close()
            action = "read" if self.shared else "written"
            raise WarehouseBusy(
                f"{self.path.with_suffix('')} is in use by {holder}; it can be {action} once "
                "that finishes (one writer at a time, readers only between runs)"
            ) from None
        self.handle = handle
        if self.shared:
            return self
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        self.handle = handle
        return self

    def unfinished_writer(self) -> str | None:
        """Held shared: the writer that took the lock and never let it go cleanly (killed
        mid-run: its `pid N since T` is still in the lock file), or None. The warehouse
        then holds a partial build, some tables of the new run beside the last one's."""
        self.handle.seek(0)
        return self.handle.read().strip() or None

    def __exit__(self, *exc) -> None:
        if not self.shared:
            self.handle.seek(0)
            self.handle.truncate()
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """schema.table of every table and view in the warehouse."""
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
