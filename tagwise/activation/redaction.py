"""Erasure in what tagwise sent or keeps for sending (SPEC 3.6): the stored sync state and the
pending and held files lose an erased person's rows, except the remove that tells the
destination to delete them; and where access reports are kept."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from tagwise.activation.changes import (
    HELD,
    audience_changes,
    create_state_tables,
    erased_identifiers_sql,
    identifiers_held_by_others_sql,
    jsonl_rows,
)
from tagwise.activation.destinations import destination_keys, destinations
from tagwise.activation.outbox import (
    IMPORT,
    REMOVALS,
    remove_delivered_files,
    remove_unfinished_writes,
    write_atomically,
)
from tagwise.activation.webhook import never_posted_sql
from tagwise.paths import remove_abandoned_scratch
from tagwise.relations import ref, source
from tagwise.warehouse import connect


def _keeps(key_value: str | None, change: str | None, erased: set[str]) -> bool:
    # A remove is how the erasure reaches the destination: it stays, with the address only.
    return key_value not in erased or change == "remove"


def _jsonl_key(key: str) -> re.Pattern:
    """The change and key at the start of a JSON Lines row as `write_files` writes them
    (keys sorted); a row of another shape is parsed whole."""
    return re.compile(
        r'\{"change": ("[a-z]+"), ' + re.escape(json.dumps(key)) + r': ("(?:[^"\\]|\\.)*"|null)'
    )


def _redact_file(path: Path, key: str, erased: set[str]) -> int:
    """Rewrite one export file without the rows of erased people; returns rows dropped.
    Files are hundreds of megabytes at a million customers: JSON Lines rows are read only
    as far as their change and key, CSV rows as lists."""
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    if path.suffix == ".jsonl":
        start = _jsonl_key(key)

        def kept(line: str) -> bool:
            found = start.match(line)
            if found:
                return _keeps(json.loads(found[2]), json.loads(found[1]), erased)
            row = json.loads(line)
            return _keeps(row.get(key), row.get("change"), erased)

        lines = jsonl_rows(text)
        kept_lines = [line for line in lines if not line.strip() or kept(line)]
        dropped = len(lines) - len(kept_lines)
        write = lambda out: out.writelines(kept_lines)  # noqa: E731
    elif path.name.startswith(f"{REMOVALS}-"):
        # Every row is a remove: how the erasure reaches the platform.
        return 0
    else:
        header, *rows = csv.reader(io.StringIO(text, newline=""))
        # A platform import file has the key first, under the platform's header.
        at_key = 0 if path.name.startswith(f"{IMPORT}-") else header.index(key)
        at_change = header.index("change") if "change" in header else None
        kept_rows = [
            row
            for row in rows
            if _keeps(row[at_key], None if at_change is None else row[at_change], erased)
        ]
        dropped = len(rows) - len(kept_rows)
        write = lambda out: csv.writer(out).writerows([header, *kept_rows])  # noqa: E731
    if dropped:
        write_atomically(path, write)
    return dropped


ACCESS_REPORTS = "access-reports"


def access_reports_folder(warehouse: Path) -> Path:
    """Where access reports are written by default: beside the warehouse, never in the
    exports outbox that reverse-ETL tools sync (a report is a person's whole record). The
    erasure pass removes a report there once its person is erased."""
    return warehouse.parent / ACCESS_REPORTS


def access_report_path(warehouse: Path, customer_key: str, as_of) -> Path:
    return access_reports_folder(warehouse) / f"{customer_key}-{as_of}.json"


def erase_from_exports(warehouse: Path, out: Path, published: Path | None = None) -> int:
    """Erasure reaches every file tagwise wrote (SPEC 3.6). First, what no sync needs any
    more: files of delivered or superseded syncs, leftovers of killed writes (exports and
    publish), access reports of erased people. Then the rows of people erased as of the
    build leave the stored sync state and the pending and held syncs' files under `out`,
    except the remove that tells the destination to delete them. Each address is done once
    (export.erasures_applied, by hash), so a day without new erasures reads no file.
    Returns rows dropped."""
    dropped = 0
    # A killed diff's scratch copy of the warehouse holds everyone, the erased included.
    remove_abandoned_scratch(warehouse)
    for destination in destinations():
        remove_unfinished_writes(out / destination)
        remove_unfinished_writes(out / destination / HELD)
    if published is not None:
        remove_unfinished_writes(published.parent, published.name)
    with connect(warehouse) as con:
        outbox = {}
        create_state_tables(con)
        for destination in destinations():
            outbox[destination] = remove_delivered_files(con, out, destination)
        erased_people = {
            key
            for (key,) in con.execute(
                f"select customer_key from {ref('int_identity__erased_people')}"
            ).fetchall()
        }
        # Reports of earlier releases were written under the exports folder.
        for reports in (access_reports_folder(warehouse), out / ACCESS_REPORTS):
            for report in sorted(reports.glob("*.json")) if reports.is_dir() else []:
                if report.name.rsplit("-", 3)[0] in erased_people:
                    report.unlink()
        known = destinations()
        identifiers = con.execute(erased_identifiers_sql()).fetchall()
        applied = {
            h
            for (h,) in con.execute(
                f"select key_sha256 from {source('export', 'erasures_applied')}"
            ).fetchall()
        }
        erased = {
            key
            for key in destination_keys(identifiers)
            if hashlib.sha256(key.encode()).hexdigest() not in applied
        }
        if not erased:
            return 0
        # A key another customer holds now is theirs: their rows and log stay, and only
        # the payloads the destination may hold (perhaps the erased person's) are redacted.
        others = destination_keys(con.execute(identifiers_held_by_others_sql()).fetchall())
        con.execute("create or replace temp table _erased (key varchar, held_by_another boolean)")
        con.executemany(
            "insert into _erased values (?, ?)", [(key, key in others) for key in sorted(erased)]
        )
        own = "key in (select key from _erased where not held_by_another)"
        con.execute("begin transaction")
        # The log keeps the hash: what was sent stays provable without the address.
        con.execute(f"update {source('export', 'sync_log')} set key = null where {own}")
        for destination in known:
            con.execute(f"delete from {source('export', 'sync_snapshots')} where {own}")
            con.execute(
                f"delete from {audience_changes()} "
                f"where destination = ? and change <> 'remove' and {own}",
                [destination],
            )
            # A webhook batch never POSTed never reached the destination: the erased
            # person's row there leaves what may be at it (no remove to send).
            con.execute(
                f"""delete from {source("export", "unacknowledged_changes")} u
                where destination = ? and {own} and exists (
                    select 1 from {never_posted_sql()} b where b.sync_id = u.sync_id
                        and u.key between b.first_key and b.last_key)""",
                [destination],
            )
            # Batches still to send hold the ranges of the rows left (tagwise.activation.webhook).
            con.execute(
                f"""update {source("export", "webhook_batches")} b set
                first_key = (select min(key) from {audience_changes()} c
                    where c.sync_id = b.sync_id and c.key between b.first_key and b.last_key),
                last_key = (select max(key) from {audience_changes()} c
                    where c.sync_id = b.sync_id and c.key between b.first_key and b.last_key)
                where destination = ? and first_key is not null""",
                [destination],
            )
            for state in (
                source("export", "acknowledged"),
                source("export", "unacknowledged_changes"),
            ):
                con.execute(
                    f"update {state} set payload = null "
                    "where destination = ? and key in (select key from _erased)",
                    [destination],
                )
        con.execute("commit")
        for destination, settings in known.items():
            for path in outbox[destination]:
                dropped += _redact_file(path, settings.key, erased - others)
        # Recorded once the files are done: a run cut short repeats the work next time.
        con.execute(
            f"insert into {source('export', 'erasures_applied')} (key_sha256, applied_at) "
            "select sha256(key), ? from _erased",
            [datetime.now(UTC).replace(tzinfo=None)],
        )
    return dropped
