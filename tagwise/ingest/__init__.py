"""`tagwise ingest`: landing files into the raw layer, with quarantine and a load log.

Per file, in one transaction and one pass over the file: read every cell as text, type it
against the contract, quarantine rows that break it (with the reasons), collapse exact
duplicates, quarantine key conflicts (the first accepted row stays), append the rest, and
log the counts. The counts always satisfy rows read = accepted + quarantined + duplicates
collapsed.

The same SQL runs on DuckDB (`DuckDBLoader`) and on Spark (`SparkLoader`, which reads the
files with Spark and has no transactions: see its docstring).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tagwise import relations
from tagwise.catalog.identity import extra_identifiers
from tagwise.contract import REQUIRED_SOURCES, SOURCES, Source
from tagwise.ingest.loaders import (
    DuckDBLoader,
    IngestError,
    Loader,
    SparkLoader,
)
from tagwise.ingest.phones import check_new_phones
from tagwise.ingest.validation import (
    DUCKDB,
    Dialect,
    create_table,
    literal,
    original_cells,
    typed_select,
)
from tagwise.paths import literal_path
from tagwise.spark import SparkSettings, session
from tagwise.warehouse import connect

FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class FileLoad:
    source: str
    file: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    skipped: bool = False
    # Why a file was not read: "already loaded" (same content) or "unchanged name, size
    # and time" (not read at all; `--verify-content` reads and hashes it anyway).
    skip_reason: str = ""

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
    """The source's files at any depth, symlinked folders included (each real folder once)."""
    folder = landing / source.name
    if not folder.is_dir():
        return []
    found, seen = [], set()
    for root, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree
            folders.clear()
            continue
        seen.add(real)
        found += [Path(root) / name for name in names if name.lower().endswith(FILE_SUFFIXES)]
    return sorted(path for path in found if path.is_file())


def _stat(path: Path) -> tuple[int, str]:
    """The file's size and modification time (a timestamp literal, UTC, microseconds)."""
    found = path.stat()
    modified = datetime(1970, 1, 1) + timedelta(microseconds=found.st_mtime_ns // 1000)
    return found.st_size, f"timestamp '{modified:%Y-%m-%d %H:%M:%S.%f}'"


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def prepare(loader: Loader) -> None:
    """Raw schema with every source's table, so absent optional sources read as empty."""
    loader.execute("create schema if not exists raw")
    for source in SOURCES:
        loader.execute(create_table(source, loader.dialect))
    # The load log, the quarantine, the phone checks and the extra identifiers, as their
    # dbt sources declare them.
    for source_name in ("ingestion", "phones", "identifiers"):
        for statement in relations.create_source_tables_sql(
            source_name, loader.dialect.text_type, loader.dialect.table_options
        ):
            loader.execute(statement)


def _read_file(loader: Loader, path: Path, source: Source, shown: str) -> list[str]:
    """Every cell of the file as text in view _file, with _row (numbered from 1 when the
    rows are kept: see keep_file_rows)."""
    is_parquet = path.name.lower().endswith(".parquet")
    columns = loader.read_cells(path, None if is_parquet else csv_header(path, shown), shown)
    missing = [c.name for c in source.columns if c.required and c.name not in columns]
    if missing:
        raise IngestError(
            f"{shown}: header lacks required column(s) {', '.join(missing)}; "
            f"found {', '.join(columns) or 'no columns'}"
        )
    # An optional column the file leaves out reads as empty.
    text = loader.dialect.text_type
    absent = [c.name for c in source.columns if c.name not in columns]
    extra = "".join(f", cast(null as {text}) as {loader.dialect.q(name)}" for name in absent)
    loader.execute(f"create or replace temp view _file as select *{extra} from _file_cells")
    return columns


HEADER_BYTES = 1 << 20


def csv_header(path: Path, shown: str) -> list[str]:
    """The header's column names. A cell left empty (a trailing comma, as spreadsheets
    write it) names an extra column `_unnamed_<n>`, which the contract ignores."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            start = handle.read(HEADER_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise IngestError(f"{shown}: cannot be read: {error}") from error
    # The first line, whatever ends it (\n, \r\n, or \r alone as old spreadsheets write).
    first_line = re.split(rb"\r\n|\r|\n", start, maxsplit=1)[0]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{shown}: the header is not UTF-8 text (byte {error.start})") from error
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as error:
        raise IngestError(f"{shown}: the header cannot be read: {error}") from error
    if not header or not any(h.strip() for h in header):
        raise IngestError(f"{shown}: the file is empty; expected a header row")
    names = [h.strip() or f"_unnamed_{at}" for at, h in enumerate(header, 1)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise IngestError(f"{shown}: header repeats column(s) {', '.join(repeated)}")
    return names


def _keys_all_new(loader: Loader, source: Source) -> bool:
    """True when no key repeats among the file's valid rows and none is in the raw table
    yet: then every valid row is accepted as it is, and the comparisons can be skipped."""
    q = loader.dialect.q
    key = ", ".join(q(k) for k in source.key)
    valid, distinct_keys = loader.one(
        f"""
        select
            (select count(*) from _typed where _reason is null),
            (select count(*) from (select distinct {key} from _typed where _reason is null) as k)
        """
    )
    if valid != distinct_keys:
        return False
    same_key = " and ".join(f"t.{q(k)} = d.{q(k)}" for k in source.key)
    return not loader.one(
        f"select count(*) from _typed as d inner join raw.{q(source.name)} as t on {same_key} "
        "where d._reason is null"
    )[0]


def _classify(loader: Loader, source: Source, loaded_at: datetime, shown: str) -> None:
    """Temp tables _typed (every row) and _decided (valid rows: accept, duplicate or conflict)."""
    q = loader.dialect.q
    moment = loaded_at.astimezone(UTC)
    loader.keep_file_rows("_typed", typed_select(source, moment, loader.dialect), shown)
    cols = [q(c) for c in source.column_names]
    listed = ", ".join(cols)
    # Most files of a keyed source bring only new keys, each once (a clean file of 4
    # million email events decides in a third of the time this way, and a view spares
    # writing a copy of its rows).
    if source.key and _keys_all_new(loader, source):
        loader.view(
            "_decided",
            f"select {listed}, _row, 1 as _copies, 'accept' as _decision, "
            f"cast(null as {loader.dialect.text_type}) as _conflict "
            "from _typed where _reason is null",
        )
        return
    key = [q(k) for k in source.key] or cols
    same_key = (
        " and ".join(f"d.{k} = t.{k}" for k in key)
        if source.key
        else " and ".join(f"d.{c} is not distinct from t.{c}" for c in cols)
    )
    same_content = " and ".join(f"d.{c} is not distinct from t.{c}" for c in cols)
    first_in_file = " and ".join(f"d.{k} is not distinct from f.{k}" for k in key)
    key_text = _key_text(source, loader.dialect)
    loader.keep(
        "_decided",
        f"""
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
                    'conflict: ' || {key_text} || ' was already accepted with different content ('
                    || s.earlier_file || ' row ' || s.earlier_row || ')'
                when f.first_row <> d._row then
                    'conflict: ' || {key_text} || ' appears earlier in this file (row '
                    || f.first_row || ') with different content'
            end as _conflict
        from distinct_rows as d
        left join seen as s on d._row = s._row
        left join first_of_key as f on {first_in_file}
        """,
    )


def _key_text(source: Source, dialect: Dialect) -> str:
    if not source.key:
        return "'row'"
    parts = [
        f"'{k} ''' || cast(d.{dialect.q(k)} as {dialect.text_type}) || ''''" for k in source.key
    ]
    return " || ', ' || ".join(parts)


def _already_loaded(loader: Loader, source: Source, shown: str, digest: str, modified: str) -> bool:
    """Whether a file of the same content was loaded; if so, under this name it is marked
    with its modification time, so the next run skips it without reading it."""
    load_log = relations.source("ingestion", "load_log")
    already = loader.one(
        f"select count(*) from {load_log} where source = {literal(source.name)} "
        f"and fingerprint = {literal(digest)}"
    )[0]
    if already and loader.dialect is DUCKDB:
        # Touched, or logged before modification times were. (Spark's Parquet tables
        # cannot update; it hashes again.)
        loader.execute(
            f"update {load_log} set modified_at = {modified} "
            f"where source = {literal(source.name)} and file = {literal(shown)} "
            f"and fingerprint = {literal(digest)}"
        )
    return bool(already)


def _quarantine(
    loader: Loader, source: Source, file_columns: list[str], load_id: str, file: str, at: str
) -> None:
    """The rows refused, each with its reason and its cells as they were in the file (as
    JSON, built only for these rows)."""
    loader.number_cells()
    original = original_cells(file_columns, loader.dialect, "f")
    loader.execute(
        f"""
        insert into {relations.source("ingestion", "quarantine")}
        select {load_id}, {literal(source.name)}, {file}, t._row,
            coalesce(t._reason, d._conflict), {original}, {at}
        from _typed as t
        left join (select _row, _conflict from _decided where _decision = 'conflict') as d
            on t._row = d._row
        inner join _file as f on t._row = f._row
        where t._reason is not null or d._row is not null
        order by t._row
        """
    )


def load_file(
    loader: Loader,
    path: Path,
    source: Source,
    shown: str,
    loaded_at: datetime,
    verify_content: bool = False,
    extra_identifiers: tuple[str, ...] = (),
) -> FileLoad:
    """Load one file; on DuckDB in one transaction, so an error leaves the warehouse as it
    was. `extra_identifiers`: the customers columns the identity catalog declares, kept
    for each accepted record version."""
    size, modified = _stat(path)
    # A file logged with the same name, size and modification time is not read again
    # (hashing the two years of files already loaded took 20 s of every daily run), unless
    # asked to: `cp -p`, `rsync -t` and tar keep a corrected file's time.
    load_log = relations.source("ingestion", "load_log")
    unchanged = (
        not verify_content
        and loader.one(
            f"select count(*) from {load_log} where source = {literal(source.name)} "
            f"and file = {literal(shown)} and bytes = {size} and modified_at = {modified}"
        )[0]
    )
    if unchanged:
        return FileLoad(
            source.name, shown, skipped=True, skip_reason="unchanged name, size and time"
        )
    skipped = FileLoad(source.name, shown, skipped=True, skip_reason="already loaded")
    # The file is hashed while the engine reads it (hashing first cost 6 s of the 100 s
    # a million customers' files take); the rare file already loaded under another name
    # or time is read for nothing.
    with ThreadPoolExecutor(max_workers=1) as hashing:
        digest = hashing.submit(fingerprint, path)
        try:
            with loader.atomic(), literal_path(path) as readable:
                file_columns = _read_file(loader, readable, source, shown)
                _classify(loader, source, loaded_at, shown)
                if _already_loaded(loader, source, shown, digest.result(), modified):
                    return skipped
                log = {"fingerprint": digest.result(), "bytes": size, "modified_at": modified}
                load_id = uuid.uuid4().hex
                loaded = _append(loader, source, shown, file_columns, loaded_at, log, load_id)
                kept = [name for name in extra_identifiers if name in file_columns]
                if source.name == "customers" and kept:
                    _keep_extra_identifiers(loader, kept, shown, loaded_at, load_id)
                return loaded
        except IngestError:
            # A file loaded before under another name is skipped, as it was when the
            # content was hashed first, even if it no longer reads as the contract asks.
            if _already_loaded(loader, source, shown, digest.result(), modified):
                return skipped
            raise
        finally:
            loader.drop()


def _append(
    loader: Loader,
    source: Source,
    shown: str,
    file_columns: list[str],
    loaded_at: datetime,
    log: dict[str, object],
    load_id: str,
) -> FileLoad:
    """Append the rows classified accepted, quarantine the refused ones and log the load."""
    load_id, file = literal(load_id), literal(shown)
    at = f"timestamp '{loaded_at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}'"
    read, accepted, quarantined = loader.one(
        """
        select
            (select count(*) from _typed),
            (select count(*) from _decided where _decision = 'accept'),
            (select count(*) from _typed where _reason is not null)
                + (select count(*) from _decided where _decision = 'conflict')
        """
    )
    listed = ", ".join(loader.dialect.q(c) for c in source.column_names)
    # Unsorted: each row keeps its file and row number, and sorting 40 million email
    # events cost a fifth of the load.
    loader.execute(
        f"insert into raw.{loader.dialect.q(source.name)} "
        f"select {listed}, {file}, _row, {load_id}, {at} "
        "from _decided where _decision = 'accept'"
    )
    if quarantined:
        _quarantine(loader, source, file_columns, load_id, file, at)
    result = FileLoad(
        source.name, shown, read, accepted, quarantined, read - accepted - quarantined
    )
    loader.execute(
        f"insert into {relations.source('ingestion', 'load_log')} "
        f"values ({load_id}, {literal(source.name)}, {file}, "
        f"{literal(log['fingerprint'])}, {log['bytes']}, {read}, {accepted}, {quarantined}, "
        f"{result.rows_duplicate}, {at}, {log['modified_at']})"
    )
    return result


def _keep_extra_identifiers(
    loader: Loader, names: list[str], shown: str, loaded_at: datetime, load_id: str
) -> None:
    """The declared extra identifiers of the file's accepted customer records (cells left
    empty are not kept), beside raw.customers in raw.customer_identifiers."""
    q = loader.dialect.q
    loader.number_cells()  # the file's cells by row number, as the quarantine reads them
    at = f"timestamp '{loaded_at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}'"
    selects = " union all ".join(
        f"select d.{q('customer_id')}, d.{q('updated_at')}, {literal(name)}, trim(f.{q(name)}), "
        f"{literal(shown)}, d._row, {literal(load_id)}, {at} "
        f"from _decided as d inner join _file as f on d._row = f._row "
        f"where d._decision = 'accept' and trim(f.{q(name)}) <> ''"
        for name in names
    )
    loader.execute(
        f"insert into {relations.source('identifiers', 'customer_identifiers')} {selects}"
    )


def require_landing(landing: Path, sources: tuple[Source, ...] = SOURCES) -> dict[str, list[Path]]:
    """Each source's landing files; refused when the landing folder, or every file of a
    required source, is missing (checked before a run starts anything slow)."""
    if not landing.is_dir():
        raise IngestError(f"landing directory {landing} does not exist")
    files = {source.name: landing_files(landing, source) for source in sources}
    missing = [s.name for s in sources if s.name in REQUIRED_SOURCES and not files[s.name]]
    if missing:
        raise IngestError(
            "required source(s) without files: "
            + ", ".join(f"{name} (expected under {landing / name}/)" for name in missing)
        )
    return files


def ingest(
    landing: Path,
    warehouse: Path,
    progress: Callable[[FileLoad], None] | None = None,
    loaded_at: datetime | None = None,
    sources: tuple[Source, ...] = SOURCES,
    target: str = "duckdb",
    verify_content: bool = False,
) -> list[FileLoad]:
    """Load every new landing file of the sources into the target's raw tables; files
    already loaded (same content) are skipped, and unless `verify_content` so are files
    logged with the same name, size and modification time, without being read."""
    files = require_landing(landing, sources)
    loaded_at = loaded_at or datetime.now(UTC)
    extras = tuple(extra_identifiers()) if any(s.name == "customers" for s in sources) else ()
    results = []
    with _loader(warehouse, target) as loader:
        prepare(loader)
        for source in sources:
            for path in files[source.name]:
                shown = path.relative_to(landing).as_posix()
                result = load_file(loader, path, source, shown, loaded_at, verify_content, extras)
                results.append(result)
                if progress:
                    progress(result)
        if any(source.name == "customers" for source in sources):
            check_new_phones(loader)
    return results


@contextmanager
def _loader(warehouse: Path, target: str) -> Iterator[Loader]:
    if target == "spark":
        yield SparkLoader(session(SparkSettings.for_warehouse(warehouse)))
        return
    with connect(warehouse) as con:
        yield DuckDBLoader(con)
