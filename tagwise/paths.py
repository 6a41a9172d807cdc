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


# Scratch copies of the warehouse (tagwise diff) live beside it, never in the system's
# temporary folder: a killed diff's copy holds everyone's data, and what is beside the
# warehouse is cleaned by the next command (and reached by erasure), not left for good.
SCRATCH = ".tagwise-scratch"


def scratch_folder(warehouse: Path) -> Path:
    """Where a command of this process keeps scratch copies; leftovers of processes that
    are gone are removed first."""
    root = warehouse.resolve().parent / SCRATCH
    remove_abandoned_scratch(warehouse)
    root.mkdir(parents=True, exist_ok=True)
    return root


def remove_abandoned_scratch(warehouse: Path) -> list[Path]:
    """Remove scratch folders whose process (`<command>-<pid>-...`) no longer runs."""
    import shutil

    root = warehouse.resolve().parent / SCRATCH
    removed = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        parts = folder.name.split("-")
        pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
        if pid is not None and _running(pid):
            continue
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.unlink(missing_ok=True)
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
