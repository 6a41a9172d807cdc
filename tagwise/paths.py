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
