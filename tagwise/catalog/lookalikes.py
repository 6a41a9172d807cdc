"""The segment catalog's lookalike audiences (SPEC 3.10): a seed (one tag, primary segment
or audience of the same catalog, or a product's buyers) and a cut (`size` or `min_score`). dbt fits and scores
them (macros/lookalikes.sql, int_segments__lookalike_scores). A file of customer ids is a
tag seed: `tagwise tag-list` lands it as manual tags (tagwise.tag_lists)."""

from __future__ import annotations

import re

from tagwise.catalog.documents import Vocabulary, _name_problem

LOOKALIKE_KEYS = frozenset({"audience", "description", "seed", "size", "min_score"})
SEED_KINDS = ("tag", "segment", "audience", "product")
# A product id as the products source holds it; it becomes a SQL literal.
PRODUCT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


def lookalike_problems(
    lookalikes: list[dict], vocabulary: Vocabulary, segments: set[str], audiences: set[str]
) -> list[str]:
    """Every problem of the `lookalikes` entries, each naming the lookalike it concerns;
    `segments` and `audiences` are the names the catalog defines otherwise."""
    problems: list[str] = []
    seen: set[str] = set()
    for definition in lookalikes:
        name = definition.get("audience")
        if problem := _name_problem("lookalike", name):
            problems.append(f"lookalike {name!r}: {problem}")
            continue

        found = []
        if name in seen or name in segments or name in audiences:
            found.append("the name is defined more than once; a name has one definition")
        seen.add(name)
        unexpected = sorted(str(key) for key in set(definition) - LOOKALIKE_KEYS)
        if unexpected:
            allowed = ", ".join(sorted(LOOKALIKE_KEYS))
            found.append(f"unknown key(s) {', '.join(unexpected)} (allowed: {allowed})")
        found += _seed_problems(definition.get("seed"), vocabulary, segments, audiences)
        found += _cut_problems(definition)
        problems.extend(f"lookalike {name}: {problem}" for problem in found)
    return problems


def _seed_problems(
    seed: object, vocabulary: Vocabulary, segments: set[str], audiences: set[str]
) -> list[str]:
    if not isinstance(seed, dict) or len(seed) != 1 or next(iter(seed)) not in SEED_KINDS:
        return [
            "seed must name one tag, segment, audience or product, as in `seed: {segment: champions}`"
        ]
    kind, value = next(iter(seed.items()))
    if kind == "product":
        if not isinstance(value, str) or not PRODUCT_ID.fullmatch(value):
            return [f"seed product {value!r} is no product id (letters, digits, . _ : -)"]
    elif kind == "tag":
        entry = vocabulary.entry(value) if isinstance(value, str) else None
        if entry is None or entry["status"] != "active":
            return [f"seed tag {value!r} is no active tag of the taxonomy"]
    elif value not in (segments if kind == "segment" else audiences):
        return [f"seed {kind} {value!r} is not a {kind} of this catalog"]
    return []


def _cut_problems(definition: dict) -> list[str]:
    size, least = definition.get("size"), definition.get("min_score")
    if (size is None) == (least is None):
        return ["needs either `size` (the most similar N customers) or `min_score` (0 to 1)"]
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        return [f"size must be a whole number of at least 1, not {size!r}"]
    if least is not None and (
        isinstance(least, bool) or not isinstance(least, int | float) or not 0 < least < 1
    ):
        return [f"min_score must be a probability above 0 and below 1, not {least!r}"]
    return []
