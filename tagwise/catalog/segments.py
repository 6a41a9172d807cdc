"""The segment catalog: primary segments, audiences and generated audiences
(segment_catalog.yml), each a condition over the tag rule inputs and has_tag()."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from tagwise.catalog.conditions import PORTABLE_FUNCTIONS, condition_problems
from tagwise.catalog.documents import (
    PREFIX,
    SEGMENT_CATALOG,
    TAG_INPUTS_DOC,
    CatalogError,
    Vocabulary,
    _name_problem,
    documented_columns,
    model_meta,
    repeated_first_positions,
)
from tagwise.catalog.lookalikes import lookalike_problems
from tagwise.dbt_project import SEEDS_DIR, project_var

SEGMENT_KEYS = frozenset({"description", "when", "holdout", "salt"})
# min_members: the fewest customers a value needs to make an audience (a real catalog has
# hundreds of categories, most bought first by a handful of people).
GENERATED_KEYS = frozenset({"prefix", "column", "description", "min_members"})
# A holdout above half would leave the treated group the smaller one; a lift measured that
# way costs more sends than it saves.
MAX_HOLDOUT = 0.5
SALT = re.compile(r"[A-Za-z0-9._-]{1,100}")

SEGMENT_FUNCTIONS = PORTABLE_FUNCTIONS | {"has_tag"}


@functools.cache
def has_tag_pattern() -> re.Pattern:
    """has_tag('<tag>') as dbt's SQL reads it (dbt_project.yml's has_tag_pattern)."""
    return re.compile(project_var("has_tag_pattern"))


def _definitions(catalog: dict, part: str) -> tuple[list[dict], list[str]]:
    value = catalog.get(part) or []
    if not isinstance(value, list):
        return [], [f"`{part}` must be a list of definitions"]
    kept = [d for d in value if isinstance(d, dict)]
    problems = [
        f"`{part}` entry {i}: must be a mapping"
        for i, d in enumerate(value, 1)
        if not isinstance(d, dict)
    ]
    return kept, problems


def segment_problems(catalog: object, vocabulary: Vocabulary, columns: set[str]) -> list[str]:
    """Every problem of the segment catalog, each naming the segment it concerns."""
    if not isinstance(catalog, dict):
        return ["the catalog must be a mapping of primary, audiences, generated, lookalikes"]
    primary, problems = _definitions(catalog, "primary")
    audiences, found = _definitions(catalog, "audiences")
    generated, more = _definitions(catalog, "generated")
    lookalikes, yet_more = _definitions(catalog, "lookalikes")
    problems += found + more + yet_more
    if not primary:
        return [*problems, "the catalog has no primary segments"]
    named = [("segment", d.get("segment"), d) for d in primary] + [
        ("audience", d.get("audience"), d) for d in audiences
    ]
    repeated = repeated_first_positions([n if isinstance(n, str) else None for _, n, _ in named])
    prefixes = tuple(
        g["prefix"] for g in generated if isinstance(g.get("prefix"), str) and g["prefix"]
    )
    for position, (kind, name, definition) in enumerate(named):
        if not name:
            problems.append(f"a {kind} definition has no name")
            continue
        if problem := _name_problem(kind, name):
            problems.append(f"{kind} {name!r}: {problem}")
            continue

        def report(problem: str, name: str = name, kind: str = kind) -> None:
            problems.append(f"{kind} {name}: {problem}")

        if position in repeated:
            report(f"defined {repeated[position]} times; a name has one definition")
        for problem in _definition_key_problems(definition, kind):
            report(problem)
        if prefixes and name.startswith(prefixes):
            report("starts with a generated audience's prefix")
        condition = definition.get("when")
        if condition is True and kind == "segment":
            condition = "true"  # YAML reads an unquoted true as a boolean
        for problem in condition_problems(condition, columns, SEGMENT_FUNCTIONS):
            report(problem)
        if isinstance(condition, str):
            for tag in has_tag_pattern().findall(condition):
                entry = vocabulary.entry(tag)
                if entry is None or entry["status"] != "active":
                    report(f"has_tag('{tag}') names no active tag of the taxonomy")
            if condition.count("has_tag") != len(has_tag_pattern().findall(condition)):
                report("has_tag takes one quoted tag, as in has_tag('high-value')")
    last = primary[-1]
    if str(last.get("when")).strip().lower() != "true":
        problems.append(
            f'segment {last.get("segment")}: the last primary segment must be `when: "true"` so that every customer has one'
        )
    for definition in generated:
        prefix = definition.get("prefix")
        if problem := _name_problem("generated audience", prefix, PREFIX):
            problems.append(f"generated audience {prefix!r}: {problem}")
        elif not isinstance(definition.get("column"), str) or definition["column"] not in columns:
            problems.append(
                f"generated audience {prefix}: needs a prefix and a column of the inputs"
            )
        else:
            problems += [
                f"generated audience {prefix}: {p}" for p in _generated_problems(definition)
            ]
    problems += lookalike_problems(
        lookalikes,
        vocabulary,
        {d["segment"] for d in primary if isinstance(d.get("segment"), str)},
        {d["audience"] for d in audiences if isinstance(d.get("audience"), str)},
    )
    if "destinations" in catalog:
        problems.append(
            "`destinations` moved to the destination catalog (catalogs/destination_catalog.yml): "
            "each destination lists the segments it `selects` there"
        )
    return problems


def _generated_problems(definition: dict) -> list[str]:
    """Unknown keys of a generated audience, or a `min_members:` that is no count."""
    problems = []
    unexpected = sorted(str(key) for key in set(definition) - GENERATED_KEYS)
    if unexpected:
        problems.append(
            f"unknown key(s) {', '.join(unexpected)} (allowed: {', '.join(sorted(GENERATED_KEYS))})"
        )
    least = definition.get("min_members", 1)
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        problems.append(f"min_members must be a whole number of at least 1, not {least!r}")
    return problems


def _definition_key_problems(definition: dict, kind: str) -> list[str]:
    """Keys a segment or audience definition may not have, or a `holdout:` share or `salt:`
    that is not valid."""
    problems = []
    allowed = SEGMENT_KEYS | {kind}
    unexpected = sorted(str(key) for key in set(definition) - allowed)
    if unexpected:
        problems.append(
            f"unknown key(s) {', '.join(unexpected)} (allowed: {', '.join(sorted(allowed))})"
        )
    share = definition.get("holdout")
    if share is not None and (
        isinstance(share, bool)
        or not isinstance(share, int | float)
        or not 0 < share <= MAX_HOLDOUT
    ):
        problems.append(
            f"holdout must be a share above 0 and at most {MAX_HOLDOUT}, as in `holdout: 0.1` (got {share!r})"
        )
    salt = definition.get("salt")
    if salt is not None:
        if share is None:
            problems.append("has a salt but no holdout; the salt only draws a held-out group")
        if not isinstance(salt, str) or not SALT.fullmatch(salt):
            problems.append("salt must be 1 to 100 letters, digits, dots, dashes or underscores")
    return problems


def selectable_names(catalog: dict) -> dict[str, set[str]]:
    """What a destination may select from a segment catalog: segments, audiences (lookalikes
    among them), and generated audiences by prefix."""
    names = {
        kind: {
            d.get(key)
            for d in (catalog.get(part) or [] if isinstance(catalog.get(part), list) else [])
            if isinstance(d, dict) and isinstance(d.get(key), str)
        }
        for kind, part, key in (
            ("segments", "primary", "segment"),
            ("audiences", "audiences", "audience"),
            ("generated", "generated", "prefix"),
            ("lookalikes", "lookalikes", "audience"),
        )
    }
    return {
        "segments": names["segments"],
        "audiences": names["audiences"] | names["lookalikes"],
        "generated": names["generated"],
    }


def check_segment_catalog(
    catalog: Path = SEGMENT_CATALOG, inputs_doc: Path = TAG_INPUTS_DOC, seeds: Path = SEEDS_DIR
) -> int:
    """Raise CatalogError listing every problem; return the number of definitions otherwise."""
    meta = model_meta(catalog, "int_segments__assignments")
    problems = segment_problems(
        meta, Vocabulary.from_seeds(seeds), documented_columns(inputs_doc, "int_tags__inputs")
    )
    if problems:
        raise CatalogError(catalog, problems)
    return sum(
        len(meta.get(part) or []) for part in ("primary", "audiences", "generated", "lookalikes")
    )
