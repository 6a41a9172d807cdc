"""A file of customer ids as manual tags: how a list from outside (a launch's first buyers,
an event's guests) becomes a seed a lookalike audience, a segment or a destination can
name (SPEC 3.10's "a file of customer ids").

The list is not a source of its own: it lands as `manual_tags` rows (one `add` per
customer, SPEC 2), so ingestion checks it, the tag's history records it, an erasure
removes it and `tagwise explain` shows who added it, like any manual tag. A lookalike
names it as `seed: {tag: <tag>}`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tagwise.catalog.documents import Vocabulary
from tagwise.contract import SOURCES_BY_NAME
from tagwise.dbt_project import SEEDS_DIR
from tagwise.errors import TagwiseError

ID_COLUMN = "customer_id"
FOLDER = "manual_tags"


class TagListError(TagwiseError):
    """The list or the tag cannot be used; nothing was written."""


@dataclass(frozen=True)
class TagList:
    written: Path
    tag: str
    customers: int
    duplicates: int


def read_ids(path: Path) -> tuple[list[str], int]:
    """The distinct customer ids of a CSV file with a `customer_id` column, in file order,
    and how many repeated ones were folded. Raises TagListError naming the file and row of
    the first problem."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            if ID_COLUMN not in (reader.fieldnames or []):
                raise TagListError(
                    f"{path}: the header ({', '.join(reader.fieldnames or []) or 'empty'}) "
                    f"has no {ID_COLUMN} column"
                )
            ids: dict[str, None] = {}
            rows = 0
            for row in reader:  # blank lines are skipped
                value = (row[ID_COLUMN] or "").strip()
                if not value:
                    raise TagListError(f"{path} row {reader.line_num}: {ID_COLUMN} is empty")
                ids[value] = None
                rows += 1
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TagListError(f"{path}: cannot be read as UTF-8 CSV: {error}") from error
    if not ids:
        raise TagListError(f"{path}: no customer id below the header")
    return list(ids), rows - len(ids)


def canonical_tag(named: str, vocabulary: Vocabulary) -> str:
    """The active taxonomy tag a name stands for: the tag itself or one of its synonyms, as
    the seeds write them; a TagListError when there is none, as ingestion would quarantine
    every row of it. (Other spellings are normalised by int_tags__manual_actions; a list
    is written by a program, so it names the tag as the taxonomy does.)"""
    name = vocabulary.synonyms.get(named, named)
    entry = vocabulary.entry(name)
    if entry is None or entry["status"] != "active":
        raise TagListError(
            f"tag {named!r} is no active tag or synonym of the taxonomy "
            "(seeds/tag_taxonomy.csv, seeds/tag_synonyms.csv): add it there first, or every "
            "row would be quarantined"
        )
    return name


def write_tag_list(
    ids_file: Path,
    tag: str,
    actor: str,
    team: str,
    landing: Path,
    created_at: datetime,
    seeds: Path = SEEDS_DIR,
) -> TagList:
    """Write one manual `add` of the tag per customer id of the file into the landing
    folder's manual_tags; the file is named after the tag and the time and never
    overwrites another."""
    canonical = canonical_tag(tag, Vocabulary.from_seeds(seeds))
    ids, duplicates = read_ids(ids_file)
    folder = landing / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = folder / f"list-{canonical}-{created_at:%Y%m%dT%H%M%SZ}.csv"
    if written.exists():
        raise TagListError(f"{written} already exists; nothing was written")
    columns = [column.name for column in SOURCES_BY_NAME[FOLDER].columns]
    stamp = f"{created_at:%Y-%m-%d %H:%M:%S}Z"
    with written.open("x", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, columns, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        for customer in ids:
            writer.writerow(
                {
                    "customer_id": customer,
                    "tag": canonical,
                    "action": "add",
                    "actor": actor,
                    "team": team,
                    "created_at": stamp,
                    "note": f"listed in {ids_file.name}",
                }
            )
    return TagList(written, canonical, len(ids), duplicates)
