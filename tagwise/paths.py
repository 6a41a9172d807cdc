"""Files handed to readers that expand patterns.

DuckDB's `read_csv`/`read_parquet` read `[ ] * ?` in a path as a glob, and Spark's (Hadoop's)
readers also `{ }` and `\\`: a file named `x[1].csv` would read `x1.csv` instead, and a
folder with brackets in its name would read a sibling's files. Every path tagwise reads
with them goes through `literal_path`, which hands over a link with a plain name when the
real path has any of those characters, so the reader reads exactly that file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tagwise.errors import TagwiseError
from tagwise.settings import current

PATTERN_CHARACTERS = frozenset("[]*?{}\\")
# The endings a reader decides the format or compression by.
KNOWN_ENDINGS = (".csv.gz", ".csv", ".jsonl", ".parquet")


def is_literal(path: Path | str) -> bool:
    return not PATTERN_CHARACTERS & set(str(path))


@contextmanager
def literal_path(path: Path) -> Iterator[Path]:
    """A path that readers which expand patterns read as exactly this file; valid inside the
    `with` block only (read eagerly within it)."""
    real = path.resolve()
    if is_literal(real):
        yield real
        return
    ending = next((e for e in KNOWN_ENDINGS if real.name.lower().endswith(e)), "")
    with tempfile.TemporaryDirectory(prefix="tagwise-read-") as folder:
        link = Path(folder) / f"file{ending}"
        if not is_literal(link):
            raise OSError(f"the temporary folder {folder} has a pattern character in its path")
        link.symlink_to(real)
        yield link


class PathCollision(TagwiseError):
    """Two of tagwise's files or folders would be the same, or one inside the other."""


def _same_or_inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def refuse_collisions(
    warehouse: Path,
    published: Path | None = None,
    exports: Path | None = None,
    landing: Path | None = None,
    report: Path | None = None,
) -> None:
    """Refuse a configuration where writing one of tagwise's files would overwrite
    another (TAGWISE_PUBLISHED set to the warehouse destroys raw data, history and sync
    state) or where the landing folder would read tagwise's own output."""
    base = warehouse.resolve()
    owned = {
        base: "the warehouse",
        base.with_name(base.name + ".wal"): "the warehouse's write-ahead log",
        base.with_name(base.name + ".lock"): "the warehouse's lock",
    }
    written = [(published, "the published copy"), (report, "the access report")]
    for path, role in written:
        if path is not None and path.resolve() in owned:
            raise PathCollision(
                f"{role} {path} would overwrite {owned[path.resolve()]} {warehouse}; "
                "choose another path"
            )
    if report is not None:
        if report.resolve() == current().published_path(warehouse).resolve():
            raise PathCollision(
                f"the access report {report} would overwrite the published copy for BI; "
                "choose another path"
            )
        if exports is not None and _same_or_inside(report.resolve(), exports.resolve()):
            raise PathCollision(
                f"the access report {report} would be in the exports folder {exports}, which "
                "reverse-ETL tools sync: a person's whole record must not leave with it; "
                "choose a path outside it (--out)"
            )
    if exports is not None and landing is not None:
        out, into = exports.resolve(), landing.resolve()
        if _same_or_inside(out, into) or _same_or_inside(into, out):
            raise PathCollision(
                f"the exports folder {exports} and the landing folder {landing} overlap: "
                "ingestion would read tagwise's own exports; keep them apart"
            )
