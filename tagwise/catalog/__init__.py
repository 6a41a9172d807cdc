"""Validation of the declarative catalogs (tag, segment, destination, identity) before anything runs.

One module per catalog, the condition grammar they share, and the files they read. The
tag catalog is the `meta.rules` of model int_tags__rule_matches in
dbt_project/models/intermediate/tags/tag_catalog.yml. A rule names a taxonomy tag, a SQL
condition over the documented columns of int_tags__inputs, and an evidence template.
Every problem found is reported with the tag it belongs to, all at once.
"""

from __future__ import annotations

from pathlib import Path

from tagwise.catalog.conditions import condition_problems, evidence_problems
from tagwise.catalog.destinations import (
    MAX_DESTINATIONS,
    check_destination_catalog,
    destination_problems,
)
from tagwise.catalog.documents import (
    DESTINATION_CATALOG,
    SEGMENT_CATALOG,
    TAG_CATALOG,
    TAG_INPUTS_DOC,
    CatalogError,
    Vocabulary,
    checked,
    documented_columns,
    forget_checked,
    model_meta,
    require_unchanged_since_checked,
    restore_checked,
    unchanged,
)
from tagwise.catalog.identity import IDENTITY_CATALOG, check_identity_catalog, identity_problems
from tagwise.catalog.segments import (
    SEGMENT_FUNCTIONS,
    check_segment_catalog,
    segment_problems,
    selectable_names,
)
from tagwise.catalog.tags import check_tag_catalog, tag_rule_problems
from tagwise.dbt_project import PROJECT_DIR
from tagwise.project import OWNED

# What other modules use of the catalogs' checks.
__all__ = [
    "DESTINATION_CATALOG",
    "IDENTITY_CATALOG",
    "MAX_DESTINATIONS",
    "SEGMENT_CATALOG",
    "SEGMENT_FUNCTIONS",
    "TAG_CATALOG",
    "TAG_INPUTS_DOC",
    "CatalogError",
    "Vocabulary",
    "check_catalogs",
    "check_destination_catalog",
    "check_identity_catalog",
    "check_segment_catalog",
    "check_tag_catalog",
    "condition_problems",
    "destination_problems",
    "documented_columns",
    "evidence_problems",
    "identity_problems",
    "model_meta",
    "require_unchanged_since_checked",
    "segment_problems",
    "selectable_names",
    "tag_rule_problems",
]


def check_catalogs(project_dir: Path | None = None) -> tuple[int, int, int, int]:
    """The four catalogs, checked before dbt parses the project: dbt renders the
    catalogs' text, so it must never see text that was not checked. Without a project
    folder, the catalogs a team edits (TAG_CATALOG, SEGMENT_CATALOG, DESTINATION_CATALOG, IDENTITY_CATALOG).
    Returns (tag rules, segment definitions, destinations, identity rules)."""
    root = PROJECT_DIR.parent if project_dir is None else project_dir.parent
    inputs_doc = root / TAG_INPUTS_DOC.relative_to(PROJECT_DIR.parent)
    tag_catalog, segment_catalog, destination_catalog, identity_catalog = (
        (TAG_CATALOG, SEGMENT_CATALOG, DESTINATION_CATALOG, IDENTITY_CATALOG)
        if project_dir is None
        else tuple(
            root / OWNED[f"catalogs/{name}_catalog.yml"]
            for name in ("tag", "segment", "destination", "identity")
        )
    )
    seeds = root / "seeds"
    files = (tag_catalog, segment_catalog, destination_catalog, identity_catalog, inputs_doc, seeds)
    # A run checks before it parses and before each dbt step: files unchanged since the
    # last check of the same files pass again without parsing every condition anew.
    if files in _LAST_CHECKS and unchanged(_LAST_CHECKS[files][1]):
        counts, digests = _LAST_CHECKS[files]
        restore_checked(digests)
        return counts
    forget_checked()
    counts = (
        check_tag_catalog(tag_catalog, inputs_doc, seeds),
        check_segment_catalog(segment_catalog, inputs_doc, seeds),
        len(check_destination_catalog(destination_catalog, segment_catalog)),
        identity_rule_count(check_identity_catalog(identity_catalog)),
    )
    _LAST_CHECKS[files] = (counts, checked())
    return counts


def identity_rule_count(meta: dict) -> int:
    """The identity catalog's rules, the probabilistic one included."""
    return len(meta.get("rules") or []) + (1 if meta.get("probabilistic") else 0)


# (the files a check reads) -> (its counts, the digests of what it read): checks that passed.
_LAST_CHECKS: dict[tuple[Path, ...], tuple[tuple[int, int, int, int], dict[Path, str]]] = {}
