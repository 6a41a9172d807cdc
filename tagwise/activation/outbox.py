"""The outbox: the files a sync is written to, atomically, and the removal of files no sync
needs any more (delivered, superseded, or left by a killed write)."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import duckdb

from tagwise.activation.changes import (
    HELD,
    LIST_FIELDS,
    LIST_SEPARATOR,
    audience_changes,
    change_record,
    json_line,
)
from tagwise.activation.destinations import destinations
from tagwise.relations import source

UNFINISHED_WRITE = re.compile(r"\..+\.[0-9]+\.(?:tmp|partial)")


def remove_unfinished_writes(folder: Path, name: str = "") -> list[Path]:
    """Remove what killed writes of tagwise's files (of the one named, if given) left in a
    folder: they hold personal data that nothing else would ever redact. The warehouse
    lock means no other tagwise run is writing them."""
    leftovers = [
        p
        for p in (folder.iterdir() if folder.is_dir() else [])
        if UNFINISHED_WRITE.fullmatch(p.name) and p.name.startswith(f".{name}")
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


# A cell a spreadsheet would run as a formula (OWASP's CSV injection guidance): a name
# such as `=HYPERLINK(...)` opened from a platform's export. The key is never touched: an
# E.164 phone starts with `+` and must reach the platform as it is.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell):
    """The cell with a leading `'` where it would start a formula; other cells as they are."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_START) else cell


def write_atomically(path: Path, write) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_files(
    con: duckdb.DuckDBPyConnection, out: Path, destination: str, sync_id: str, held: bool = False
) -> tuple[Path, ...]:
    """The sync's change set (CSV and JSON Lines) and the audience it was computed from,
    written from the stored sync, so that sending it again gives the same bytes; a held
    sync's under held/. A kind with a platform import file (its `import_headers`) also
    gets the platform's own files: `import-<sync>.csv` (adds and updates, the key first,
    under the platform's headers, lists as it wants them) and `remove-<sync>.csv` (the
    keys to remove): an import that applies one status to every row takes each as is."""
    entry = destinations()[destination]
    key, columns, kind = entry.key, entry.fields, entry.traits
    folder = out / destination / HELD if held else out / destination
    folder.mkdir(parents=True, exist_ok=True)
    # The CSV cells are read out of the payload in SQL: decoding it per row in Python took
    # most of the time of writing a million-customer audience.
    cells = "".join(f", json_extract_string(payload, '$.{c}')" for c in columns)
    changes = con.execute(
        f"select key, change, payload{cells} from {audience_changes()} "
        "where sync_id = ? order by key",
        [sync_id],
    ).fetchall()
    audience = con.execute(
        f"select key{cells} from {source('export', 'sync_snapshots')} where sync_id = ? order by key",
        [sync_id],
    ).fetchall()

    def changes_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow(["sync_id", key, "change", *columns])
        writer.writerows(
            (sync_id, item, change, *map(spreadsheet_safe, values))
            for item, change, _, *values in changes
        )

    def changes_jsonl(handle) -> None:
        for item, change, payload, *_ in changes:
            handle.write(
                json_line({"sync_id": sync_id, **change_record(key, item, change, payload)})
            )

    def audience_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow([key, *columns])
        writer.writerows((item, *map(spreadsheet_safe, values)) for item, *values in audience)

    headers = dict(kind.import_headers)

    def platform_cell(column: str, value):
        if kind.import_lists == "json" and column in LIST_FIELDS and value is not None:
            value = json.dumps(value.split(LIST_SEPARATOR) if value else [], ensure_ascii=False)
        return spreadsheet_safe(value)

    def import_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow([headers[key], *(headers[c] for c in columns)])
        writer.writerows(
            (item, *(platform_cell(c, v) for c, v in zip(columns, values, strict=True)))
            for item, change, _, *values in changes
            if change != "remove"
        )

    def remove_csv(handle) -> None:
        writer = csv.writer(handle)
        writer.writerow([headers[key]])
        writer.writerows((item,) for item, change, *_ in changes if change == "remove")

    files = (
        (folder / f"changes-{sync_id}.csv", changes_csv),
        (folder / f"changes-{sync_id}.jsonl", changes_jsonl),
        (folder / f"audience-{sync_id}.csv", audience_csv),
    ) + (
        (
            (folder / f"{IMPORT}-{sync_id}.csv", import_csv),
            (folder / f"{REMOVALS}-{sync_id}.csv", remove_csv),
        )
        if headers
        else ()
    )
    for path, write in files:
        write_atomically(path, write)
    return tuple(path for path, _ in files)


# The files write_files names for a sync; other files in the folder are not ours.
IMPORT, REMOVALS = "import", "remove"
SYNC_FILE = re.compile(rf"(?:changes|audience|{IMPORT}|{REMOVALS})-(?P<sync_id>.+)\.(?:csv|jsonl)")


def remove_delivered_files(
    con: duckdb.DuckDBPyConnection, out: Path, destination: str
) -> list[Path]:
    """Remove the files of syncs that are neither pending (in the outbox) nor held (under
    held/); returns the files left."""
    kept = []
    for status, folder in (("pending", out / destination), ("held", out / destination / HELD)):
        current = {
            sync_id
            for (sync_id,) in con.execute(
                f"select sync_id from {source('export', 'syncs')} where destination = ? and status = ?",
                [destination, status],
            ).fetchall()
        }
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            name = SYNC_FILE.fullmatch(path.name)
            if name is None:
                continue
            if name["sync_id"] in current:
                kept.append(path)
            else:
                path.unlink()
    return kept
