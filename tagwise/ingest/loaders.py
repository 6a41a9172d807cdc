"""Where ingestion loads: a DuckDB warehouse, one transaction per file, or Spark's tables;
both read a landing file's cells as text for the contract to type."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tagwise.errors import TagwiseError
from tagwise.ingest.validation import (
    DUCKDB,
    SPARK,
    literal,
)


class IngestError(TagwiseError):
    """A landing problem a person must fix; the message names the file and the problem."""


def reader_reason(error: Exception) -> str:
    """The reader's own reason, without its advice and settings dump: for DuckDB's CSV
    errors the line, the original text and what was wrong (not UTF-8, wrong number of
    columns, line too long), in one line."""
    lines = []
    for line in str(error).strip().splitlines():
        line = line.strip()
        if line.lower().startswith(("possible fix", "possible solution", "file =")):
            break
        if line:
            lines.append(line.removeprefix("Invalid Input Error: "))
    return "; ".join(lines[:6]) or type(error).__name__


def csv_reader(path: Path, types: dict[str, str]) -> str:
    """DuckDB's reader of a CSV file with a header, each column read as the type given
    (no type guessing)."""
    typed = "{" + ", ".join(f"{literal(c)}: {literal(t)}" for c, t in types.items()) + "}"
    return (
        f"read_csv({literal(path)}, header = true, auto_detect = false, "
        f"""delim = ',', quote = '"', escape = '"', columns = {typed})"""
    )


def csv_cells(path: Path, columns: list[str]) -> str:
    """DuckDB's reader of a CSV file with a header, every cell as text."""
    return csv_reader(path, dict.fromkeys(columns, "varchar"))


# The temporary tables and views of one file's load.
TEMPORARY = ("_file", "_file_cells", "_file_cells_read", "_typed", "_typed_kept", "_decided")


class DuckDBLoader:
    """Loads into a DuckDB warehouse: one transaction per file."""

    dialect = DUCKDB

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        # The reader of the file being loaded while its rows are not numbered (CSV).
        self._csv: str | None = None

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def one(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchone()

    def keep(self, name: str, sql: str) -> None:
        self.con.execute(f"create or replace temp table {name} as {sql}")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"create or replace temp view {name} as {sql}")

    def drop(self) -> None:
        temporary = self.con.execute(
            "select view_name, 'view' from duckdb_views() where temporary "
            "union all select table_name, 'table' from duckdb_tables() where temporary"
        ).fetchall()
        for name, kind in temporary:
            if name in TEMPORARY:
                self.con.execute(f"drop {kind} if exists {name}")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        self.con.execute("begin transaction")
        try:
            yield
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def read_cells(self, path: Path, columns: list[str] | None, shown: str) -> list[str]:
        """View _file_cells: every cell of the file as text, CSV columns named by the header,
        Parquet ones read from the file. Nothing is read yet: the file is read once, when
        its typed rows are kept (keep_file_rows). `path` must be read literally (see
        tagwise.paths.literal_path) until the load ends."""
        try:
            return self._read_cells(path, columns)
        except duckdb.Error as error:
            raise IngestError(f"{shown}: cannot be read: {reader_reason(error)}") from error

    def _read_cells(self, path: Path, columns: list[str] | None) -> list[str]:
        q = self.dialect.q
        if columns is None:
            relation = f"read_parquet({literal(path)}, file_row_number = true)"
            described = self.con.execute(f"describe select * from {relation}").fetchall()
            columns = [r[0] for r in described if r[0] != "file_row_number"]
            cells = ", ".join(f"cast({q(c)} as varchar) as {q(c)}" for c in columns)
            self.view("_file_cells", f"select file_row_number + 1 as _row, {cells} from {relation}")
            self._csv = None
            return columns
        # A CSV reader numbers no rows: they are numbered when kept (keep_file_rows).
        self._csv = csv_cells(path, columns)
        self.view("_file_cells", f"select cast(null as bigint) as _row, * from {self._csv}")
        return columns

    def keep_file_rows(self, name: str, sql: str, shown: str) -> None:
        """Keep the rows of `sql`, which reads _file, as `name`: the one pass over the file
        (reading every cell into a table first, and typing that, cost a third more). A new
        table keeps file order in consecutive rowids (temp tables start them at an offset),
        so the distance from the first rowid numbers a CSV file's data rows."""
        try:
            if self._csv is None:
                self.keep(name, sql)
                return
            self.keep(f"{name}_kept", sql)
        except duckdb.Error as error:
            raise IngestError(f"{shown}: cannot be read: {reader_reason(error)}") from error
        row = self._row_number(f"{name}_kept")
        self.view(name, f"select * replace ({row} as _row) from {name}_kept")

    def number_cells(self) -> None:
        """Number _file_cells' rows as keep_file_rows did, reading the file again: only a
        file with rows to quarantine needs its original cells by row number."""
        if self._csv is None:
            return
        self.keep("_file_cells_read", f"select * from {self._csv}")
        row = self._row_number("_file_cells_read")
        self.view("_file_cells", f"select {row} as _row, * from _file_cells_read")
        self._csv = None

    def _row_number(self, table: str) -> str:
        """The file's data row number of a row of `table`, new and filled in file order."""
        first = self.one(f"select coalesce(min(rowid), 0) from {table}")[0]
        return f"rowid - {first} + 1"


class SparkLoader:
    """Loads into Spark tables (Parquet), which have no transactions: a file's rows are
    appended first and its load-log row last. A load cut short leaves no log row; the retry
    finds its accepted rows already there and counts them as duplicates, so none doubles."""

    dialect = SPARK

    def __init__(self, spark):
        self.spark = spark

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def one(self, sql: str) -> tuple:
        return tuple(self.spark.sql(sql).first())

    def keep(self, name: str, sql: str) -> None:
        # Checkpointed so that later statements read the same rows without recomputing.
        self.spark.sql(sql).localCheckpoint().createOrReplaceTempView(name)

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)

    def drop(self) -> None:
        for view in ("_file", "_file_cells", "_typed", "_decided"):
            self.spark.catalog.dropTempView(view)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        yield

    def read_cells(self, path: Path, columns: list[str] | None, shown: str) -> list[str]:
        from pyspark.errors import PySparkException

        try:
            return self._read_cells(path, columns)
        except PySparkException as error:
            raise IngestError(f"{shown}: cannot be read: {reader_reason(error)}") from error

    def _read_cells(self, path: Path, columns: list[str] | None) -> list[str]:
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        if columns is None:
            frame = self.spark.read.parquet(str(path))
            columns = frame.columns
            row = F.col("_metadata.row_index") + 1
        else:
            schema = StructType([StructField(c, StringType()) for c in columns])
            # One partition per file (multiLine), so the ids count rows in file order.
            frame = self.spark.read.csv(
                str(path), schema=schema, header=True, quote='"', escape='"', multiLine=True
            )
            row = F.monotonically_increasing_id() + 1
        cells = [F.col(self.dialect.q(c)).cast("string").alias(c) for c in columns]
        frame.select(row.alias("_row"), *cells).localCheckpoint().createOrReplaceTempView(
            "_file_cells"
        )
        return columns

    def keep_file_rows(self, name: str, sql: str, shown: str) -> None:
        self.keep(name, sql)

    def number_cells(self) -> None:
        """The cells were numbered when read."""


Loader = DuckDBLoader | SparkLoader
