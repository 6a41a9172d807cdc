"""`tagwise ingest`: landing files into the raw layer, with quarantine and a load log.

Per file, in one transaction: read every cell as text, type it against the contract,
quarantine rows that break it (with the reasons), collapse exact duplicates, quarantine
key conflicts (the first accepted row stays), append the rest, and log the counts. The
counts always satisfy rows read = accepted + quarantined + duplicates collapsed.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tagwise.contract import REQUIRED_SOURCES, SOURCES, Source
from tagwise.ingest.validation import create_table, q, typed_select
from tagwise.warehouse import connect

FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet")

LOAD_LOG_DDL = """
create table if not exists raw.load_log (
    load_id varchar not null,
    source varchar not null,
    file varchar not null,
    fingerprint varchar not null,
    bytes bigint not null,
    rows_read bigint not null,
    rows_accepted bigint not null,
    rows_quarantined bigint not null,
    rows_duplicate bigint not null,
    loaded_at timestamp not null
)"""
QUARANTINE_DDL = """
create table if not exists raw.quarantine (
    load_id varchar not null,
    source varchar not null,
    file varchar not null,
    row_number bigint not null,
    reason varchar not null,
    original varchar not null,
    loaded_at timestamp not null
)"""


class IngestError(Exception):
    """A landing problem a person must fix; the message names the file and the problem."""


@dataclass(frozen=True)
class FileLoad:
    source: str
    file: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    skipped: bool = False

    @property
    def conserved(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined + self.rows_duplicate


def load_totals(loads: list[FileLoad]) -> dict[str, int]:
    """Files and rows of a set of loads (read = accepted + quarantined + duplicates)."""
    loaded = [load for load in loads if not load.skipped]
    return {
        "files": len(loaded),
        "files_skipped": len(loads) - len(loaded),
        "rows_read": sum(load.rows_read for load in loaded),
        "rows_accepted": sum(load.rows_accepted for load in loaded),
        "rows_quarantined": sum(load.rows_quarantined for load in loaded),
        "rows_duplicate": sum(load.rows_duplicate for load in loaded),
    }


def landing_files(landing: Path, source: Source) -> list[Path]:
    folder = landing / source.name
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(FILE_SUFFIXES)
    )


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Raw schema with every source's table, so absent optional sources read as empty."""
    con.execute("create schema if not exists raw")
    for source in SOURCES:
        con.execute(create_table(source))
    con.execute(LOAD_LOG_DDL)
    con.execute(QUARANTINE_DDL)


def _read_file(con: duckdb.DuckDBPyConnection, path: Path, source: Source, shown: str) -> list[str]:
    """Every cell of the file as text in view _file, with _row numbered from 1."""
    try:
        if path.name.lower().endswith(".parquet"):
            relation = f"read_parquet({_lit(path)}, file_row_number = true)"
            columns = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]
            columns = [c for c in columns if c != "file_row_number"]
            cells = ", ".join(f"cast({q(c)} as varchar) as {q(c)}" for c in columns)
            con.execute(
                "create temp table _file_cells as "
                f"select file_row_number + 1 as _row, {cells} from {relation}"
            )
        else:
            columns = _csv_header(path, shown)
            typed = "{" + ", ".join(f"{_lit(c)}: 'varchar'" for c in columns) + "}"
            con.execute(
                f"create temp table _file_cells as select * from read_csv({_lit(path)}, "
                f"""header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', """
                f"columns = {typed})"
            )
    except duckdb.Error as error:
        raise IngestError(f"{shown}: cannot be read: {_first_line(error)}") from error
    missing = [c.name for c in source.columns if c.required and c.name not in columns]
    if missing:
        raise IngestError(
            f"{shown}: header lacks required column(s) {', '.join(missing)}; "
            f"found {', '.join(columns) or 'no columns'}"
        )
    # An optional column the file leaves out reads as empty.
    absent = [c.name for c in source.columns if c.name not in columns]
    extra = "".join(f", null::varchar as {q(name)}" for name in absent)
    row = ""
    if not path.name.lower().endswith(".parquet"):
        # A new table keeps file order in consecutive rowids (temp tables start them at an
        # offset), so the distance from the first rowid is the data row number.
        first = con.execute("select coalesce(min(rowid), 0) from _file_cells").fetchone()[0]
        row = f"rowid - {first} + 1 as _row, "
    con.execute(f"create temp view _file as select {row}*{extra} from _file_cells")
    return columns


def _csv_header(path: Path, shown: str) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            first_line = handle.readline()
    except (OSError, EOFError) as error:
        raise IngestError(f"{shown}: cannot be read: {error}") from error
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{shown}: the header is not UTF-8 text (byte {error.start})") from error
    header = next(csv.reader([text]), None)
    if not header or not any(h.strip() for h in header):
        raise IngestError(f"{shown}: the file is empty; expected a header row")
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise IngestError(f"{shown}: header repeats column(s) {', '.join(repeated)}")
    return names


def _lit(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _classify(
    con: duckdb.DuckDBPyConnection, source: Source, file_columns: list[str], loaded_at: datetime
) -> None:
    """Temp tables _typed (every row) and _decided (valid rows: accept, duplicate or conflict)."""
    con.execute("drop table if exists _typed")
    moment = loaded_at.astimezone(UTC)
    con.execute(f"create temp table _typed as {typed_select(source, file_columns, moment)}")
    cols = [q(c) for c in source.column_names]
    listed = ", ".join(cols)
    key = [q(k) for k in source.key] or cols
    same_key = (
        " and ".join(f"d.{k} = t.{k}" for k in key)
        if source.key
        else " and ".join(f"d.{c} is not distinct from t.{c}" for c in cols)
    )
    same_content = " and ".join(f"d.{c} is not distinct from t.{c}" for c in cols)
    first_in_file = " and ".join(f"d.{k} is not distinct from f.{k}" for k in key)
    con.execute("drop table if exists _decided")
    con.execute(
        f"""
        create temp table _decided as
        with distinct_rows as (
            select {listed}, min(_row) as _row, count(*) as _copies
            from _typed where _reason is null
            group by all
        ),
        seen as (
            select d._row,
                bool_or({same_content}) as same_content,
                min(t._source_file) as earlier_file,
                min(t._source_row) as earlier_row
            from distinct_rows as d
            inner join raw.{q(source.name)} as t on {same_key}
            group by d._row
        ),
        fresh as (
            select d.* from distinct_rows as d
            left join seen as s on d._row = s._row
            where s._row is null
        ),
        first_of_key as (
            select {", ".join(key)}, min(_row) as first_row from fresh group by all
        )
        select d.*,
            case
                when s.same_content then 'duplicate'
                when s._row is not null then 'conflict'
                when f.first_row <> d._row then 'conflict'
                else 'accept'
            end as _decision,
            case
                when s._row is not null and not s.same_content then
                    'conflict: ' || {_key_text(source)} || ' was already accepted with different content ('
                    || s.earlier_file || ' row ' || s.earlier_row || ')'
                when f.first_row <> d._row then
                    'conflict: ' || {_key_text(source)} || ' appears earlier in this file (row '
                    || f.first_row || ') with different content'
            end as _conflict
        from distinct_rows as d
        left join seen as s on d._row = s._row
        left join first_of_key as f on {first_in_file}
        """
    )


def _key_text(source: Source) -> str:
    if not source.key:
        return "'row'"
    parts = [f"'{k} ''' || d.{q(k)}::varchar || ''''" for k in source.key]
    return " || ', ' || ".join(parts)


def load_file(
    con: duckdb.DuckDBPyConnection, path: Path, source: Source, shown: str, loaded_at: datetime
) -> FileLoad:
    """Load one file in one transaction; an error leaves the warehouse as it was."""
    digest = fingerprint(path)
    already = con.execute(
        "select 1 from raw.load_log where source = ? and fingerprint = ? limit 1",
        [source.name, digest],
    ).fetchone()
    if already:
        return FileLoad(source.name, shown, skipped=True)
    load_id = uuid.uuid4().hex
    params = {"load_id": load_id, "file": shown, "at": loaded_at.replace(tzinfo=None)}
    con.execute("begin transaction")
    try:
        file_columns = _read_file(con, path, source, shown)
        _classify(con, source, file_columns, loaded_at)
        listed = ", ".join(q(c) for c in source.column_names)
        # Unsorted: each row keeps its file and row number, and sorting 40 million email
        # events cost a fifth of the load.
        con.execute(
            f"insert into raw.{q(source.name)} select {listed}, $file, _row, $load_id, $at "
            "from _decided where _decision = 'accept'",
            params,
        )
        con.execute(
            f"""
            insert into raw.quarantine
            select $load_id, {_lit(source.name)}, $file, t._row, coalesce(t._reason, d._conflict),
                t._original, $at
            from _typed as t
            left join _decided as d on t._row = d._row
            where t._reason is not null or d._decision = 'conflict'
            order by t._row
            """,
            params,
        )
        read, accepted, quarantined = con.execute(
            """
            select
                (select count(*) from _typed),
                (select count(*) from _decided where _decision = 'accept'),
                (select count(*) from _typed where _reason is not null)
                    + (select count(*) from _decided where _decision = 'conflict')
            """
        ).fetchone()
        result = FileLoad(
            source.name, shown, read, accepted, quarantined, read - accepted - quarantined
        )
        con.execute(
            "insert into raw.load_log values ($load_id, $source, $file, $digest, $bytes, "
            "$read, $accepted, $quarantined, $duplicate, $at)",
            params
            | {
                "source": source.name,
                "digest": digest,
                "bytes": path.stat().st_size,
                "read": read,
                "accepted": accepted,
                "quarantined": quarantined,
                "duplicate": result.rows_duplicate,
            },
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop view if exists _file")
        for temp in ("_file_cells", "_typed", "_decided"):
            con.execute(f"drop table if exists {temp}")
    return result


def ingest(
    landing: Path,
    warehouse: Path,
    progress: Callable[[FileLoad], None] | None = None,
    loaded_at: datetime | None = None,
    sources: tuple[Source, ...] = SOURCES,
) -> list[FileLoad]:
    """Load every new landing file of the sources; files already loaded (same content) are
    skipped."""
    if not landing.is_dir():
        raise IngestError(f"landing directory {landing} does not exist")
    files = {source.name: landing_files(landing, source) for source in sources}
    missing = [s.name for s in sources if s.name in REQUIRED_SOURCES and not files[s.name]]
    if missing:
        raise IngestError(
            "required source(s) without files: "
            + ", ".join(f"{name} (expected under {landing / name}/)" for name in missing)
        )
    loaded_at = loaded_at or datetime.now(UTC)
    results = []
    with connect(warehouse) as con:
        prepare(con)
        for source in sources:
            for path in files[source.name]:
                shown = path.relative_to(landing).as_posix()
                result = load_file(con, path, source, shown, loaded_at)
                results.append(result)
                if progress:
                    progress(result)
    return results
