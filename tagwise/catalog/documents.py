"""What the catalog checks read: the catalogs' files (a deployment folder's own, or the
shipped ones), each read once and fingerprinted, the taxonomy, documented columns, and
the names a catalog may give. CatalogError reports every problem of a file at once."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from tagwise.catalog.conditions import template_problems
from tagwise.dbt_project import PROJECT_DIR, SEEDS_DIR
from tagwise.errors import TagwiseError
from tagwise.project import OWNED, owned
from tagwise.project import root as project_root

TAG_INPUTS_DOC = PROJECT_DIR / "models" / "intermediate" / "tags" / "_tags__models.yml"
# The catalogs a team edits: a deployment folder's own (tagwise.project), or the shipped ones.
TAG_CATALOG = owned("catalogs/tag_catalog.yml")
SEGMENT_CATALOG = owned("catalogs/segment_catalog.yml")
DESTINATION_CATALOG = owned("catalogs/destination_catalog.yml")

# Names a catalog gives (tags, segments, audiences, destinations): lower-case words joined
# by `-`. They become SQL literals and file names, so nothing else is let through.
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A generated audience's prefix: a name followed by `-` (fans- makes fans-books-mystery).
PREFIX = re.compile(r"(?:[a-z0-9]+-)+")
COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# A destination's name names its outbox folder and its sync ids, and earlier releases made
# it part of a table's name: it stays a lower-case SQL identifier, so that every name
# those releases accepted is still accepted and none other is.
DESTINATION_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class CatalogError(TagwiseError):
    """The catalog cannot be used; the message lists every problem, each with its tag."""

    def __init__(self, catalog: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{catalog} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))


# A taxonomy row naming a family of tags, one per product category
# (likely-<category>-buyer; dbt's int_tags__vocabulary makes the tags).
FAMILY_PLACEHOLDER = "<category>"


@dataclass(frozen=True)
class Vocabulary:
    """The taxonomy (tag -> status, replaced_by) and synonyms (alias -> tag)."""

    tags: dict[str, dict[str, str]]
    synonyms: dict[str, str]

    def entry(self, tag: str) -> dict[str, str] | None:
        """The taxonomy row of a tag, or of the family it belongs to (any category name
        in place of `<category>`: the categories are the data's, unknown to a check)."""
        if tag in self.tags:
            return self.tags[tag]
        for family, row in self.tags.items():
            head, placeholder, tail = family.partition(FAMILY_PLACEHOLDER)
            if (
                placeholder
                and tag.startswith(head)
                and tag.endswith(tail)
                and NAME.fullmatch(tag[len(head) : len(tag) - len(tail)] or "-")
            ):
                return row
        return None

    @classmethod
    def from_seeds(cls, seeds: Path = SEEDS_DIR) -> Vocabulary:
        taxonomy, synonyms = seeds / "tag_taxonomy.csv", seeds / "tag_synonyms.csv"
        try:
            return cls(
                {row["tag"]: row for row in _csv_rows(taxonomy, ("tag", "status", "replaced_by"))},
                {row["alias"]: row["tag"] for row in _csv_rows(synonyms, ("alias", "tag"))},
            )
        except OSError as error:
            raise CatalogError(Path(error.filename or seeds), ["cannot be read"]) from None


# Every file the checks read, with the SHA-256 of the bytes they read: what this process
# checked. dbt reads the same files again during the run; a file edited meanwhile (a
# catalog saved mid-run) would be built unchecked, so nothing of such a run is released
# (require_unchanged_since_checked).
_CHECKED: dict[Path, str] = {}


def forget_checked() -> None:
    """A new check starts: what it reads is what the run that follows may release."""
    _CHECKED.clear()


def checked() -> dict[Path, str]:
    """What the last check read: each file's SHA-256."""
    return dict(_CHECKED)


def unchanged(digests: dict[Path, str]) -> bool:
    """Whether every file still holds what it held when its digest was taken."""
    return all(
        path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest
        for path, digest in digests.items()
    )


def restore_checked(digests: dict[Path, str]) -> None:
    """What a check read, recorded again: the same files, unchanged, pass the same check."""
    _CHECKED.clear()
    _CHECKED.update(digests)


def _read_checked(path: Path) -> bytes:
    data = path.read_bytes()
    _CHECKED[path] = hashlib.sha256(data).hexdigest()
    return data


def require_unchanged_since_checked() -> None:
    """Raise CatalogError when a catalog or seed this process checked has changed since:
    the run may have built it unchecked. The release steps call this first."""
    # This run's files: the project dbt runs and the deployment folder's own (a check of
    # another folder's copy, as `tagwise check --project` or a test makes, is not this run's).
    this_run = {project_root().resolve(), *(owned(name).resolve().parent for name in OWNED)}
    changed = [
        path
        for path, digest in _CHECKED.items()
        if any(folder in path.resolve().parents for folder in this_run)
        and not unchanged({path: digest})
    ]
    if changed:
        raise CatalogError(
            changed[0],
            [
                f"{path} changed after it was checked at the start of this run: the run may "
                "have built what was never checked, so nothing is exported or published; run "
                "again to check and build the file as it is now"
                for path in changed
            ],
        )


def _csv_rows(path: Path, needed: tuple[str, ...]) -> list[dict[str, str]]:
    raw = _read_checked(path)
    crlf = raw.count(b"\r\n")
    if crlf and (raw.count(b"\n") > crlf or raw.count(b"\r") > crlf):
        # Python's reader copes; dbt's seed loader does not, and the run would fail.
        raise CatalogError(
            path, ["mixes line endings (\\r\\n and \\n or \\r): save it with one kind"]
        )
    with io.StringIO(raw.decode("utf-8"), newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise CatalogError(path, [f"header lacks column(s) {', '.join(missing)}"])
        return list(reader)


def _load_document(path: Path) -> dict:
    """A catalog or properties file as YAML; every way it can be unreadable is a CatalogError."""
    try:
        document = yaml.safe_load(_read_checked(path).decode("utf-8"))
    except OSError as error:
        raise CatalogError(path, [f"cannot be read: {error.strerror or error}"]) from None
    except UnicodeDecodeError as error:
        raise CatalogError(path, [f"is not UTF-8 text (byte {error.start})"]) from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f"line {where.line + 1}: " if where is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CatalogError(path, [f"is not valid YAML: {line}{problem}"]) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise CatalogError(path, ["must be a YAML mapping with a `models` list"])
    return document


def _model_node(path: Path, model: str) -> dict:
    document = _load_document(path)
    problems = template_problems(document)
    if problems:
        raise CatalogError(path, problems)
    nodes = document.get("models")
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("name") == model:
            return node
    raise CatalogError(path, [f"no model named {model} in the file"])


def model_meta(properties: Path, model: str) -> dict:
    config = _model_node(properties, model).get("config") or {}
    meta = config.get("meta") if isinstance(config, dict) else None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise CatalogError(properties, [f"{model}: config.meta must be a mapping"])
    return meta


def documented_columns(properties: Path, model: str) -> set[str]:
    columns = _model_node(properties, model).get("columns") or []
    return {
        column["name"]
        for column in columns
        if isinstance(column, dict)
        and isinstance(column.get("name"), str)
        and COLUMN_NAME.fullmatch(column["name"])
    }


def repeated_first_positions(names: list) -> dict[int, int]:
    """For each name that occurs more than once: its first position -> how many times it occurs,
    so that a repeated definition is reported once, at its first place."""
    counts = Counter(names)
    first: dict[object, int] = {}
    for position, name in enumerate(names):
        if name and counts[name] > 1:
            first.setdefault(name, position)
    return {position: counts[name] for name, position in first.items()}


NAME_SHAPES = {
    NAME: "lower-case words joined by -",
    PREFIX: "lower-case words joined by - and ending in -",
    DESTINATION_NAME: "a lower-case letter, then up to 39 lower-case letters, digits or _ "
    "(it names the destination's outbox folder and sync ids)",
}


def _name_problem(kind: str, name: object, pattern: re.Pattern = NAME) -> str | None:
    if not isinstance(name, str) or not pattern.fullmatch(name):
        return f"{kind} name {name!r} is not {NAME_SHAPES[pattern]}"
    return None


def _names(value: object) -> list[str] | None:
    """A YAML list of names, or None when it is something else."""
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None
