"""Tags that suggest themselves (SPEC 3.11), first part: from the latest build, propose new
tags where a behaviour sets a group of customers far apart from everyone, merges of tags
whose members are (nearly) the same people, and retirements of tags that match no one,
nearly everyone, or no longer differ from the population on what they name.

Nothing is applied: each suggestion carries a condition in the tag catalog's own syntax
(checked as `tagwise check` checks it) for a person to paste, and `tagwise diff` previews
it. The warehouse is only read. Customers who objected to profiling are left out of every
figure and sample. Deterministic for a given build and seed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tagwise.suggest import affinity, categories, clusters, sequences
from tagwise.suggest.cleanup import merge_reason, merges, retirements
from tagwise.suggest.review import html_page, review_snippets
from tagwise.suggest.suggestion import (
    BEHAVIOUR_COLUMNS,
    MERGE_JACCARD,
    Inputs,
    SuggestError,
    Suggestion,
    jaccard,
    read_inputs,
)

__all__ = [
    "Inputs",
    "SuggestError",
    "Suggestion",
    "html_page",
    "jaccard",
    "read_inputs",
    "suggest",
    "write_review",
]


def suggest(inputs: Inputs, seed: int = 7) -> list[Suggestion]:
    """Every suggestion, in a fixed order: retirements, merges, then new tags (from
    affinities, categories, sequences and clusters) by the lower bound of their lift."""
    members = {tag: set(group) for tag, group in inputs.tags.groupby("tag")["customer_key"]}
    population = len(inputs.customers)
    if population == 0:
        return []
    by_rule = {}
    if "source" in inputs.tags:
        ruled = inputs.tags[inputs.tags["source"] == "rule"]
        by_rule = {tag: set(group) for tag, group in ruled.groupby("tag")["customer_key"]}
    found = retirements(inputs, members) + merges(members, population, by_rule)
    customers = inputs.customers
    new = [
        s
        for column in BEHAVIOUR_COLUMNS
        if column in customers
        if (s := affinity.propose(customers, column, members, seed)) is not None
    ]
    new += categories.propose(customers, members, inputs.category_shares, seed)
    new += sequences.propose(customers, members, seed)
    new += clusters.propose(customers, members, seed)
    kept: list[Suggestion] = []
    for suggestion in sorted(new, key=lambda s: (-(s.lift_lower or 0), s.tag)):
        # Two sources proposing (nearly) the same people: the stronger one is shown.
        if any(jaccard(suggestion.keys, other.keys) >= MERGE_JACCARD for other in kept):
            continue
        # A new tag that is an existing tag under another name is a merge, not a new tag.
        if suggestion.overlap and suggestion.overlap[0]["jaccard"] >= MERGE_JACCARD:
            suggestion.kind, suggestion.with_tag = "merge", suggestion.overlap[0]["tag"]
            suggestion.reason = merge_reason(suggestion.with_tag, suggestion.overlap[0]["jaccard"])
        kept.append(suggestion)
    return found + kept


def previous_review(folder: Path, as_of: date) -> tuple[date, list[dict]] | None:
    """The newest review in the folder of a build before as_of, with its records."""
    earlier = []
    for path in folder.glob("suggestions-*.json"):
        try:
            day = date.fromisoformat(path.stem.removeprefix("suggestions-"))
        except ValueError:
            continue
        if day < as_of:
            earlier.append((day, path))
    if not earlier:
        return None
    day, path = max(earlier)
    return day, json.loads(path.read_text(encoding="utf-8"))


def compare_with_previous(suggestions: list[Suggestion], day: date, records: list[dict]) -> None:
    """Each suggestion's `previous`: what the review as of that day proposed under the same
    kind and tag (its condition and member count), or only the day when it did not. Who
    the members were is not kept between reviews: a list of people outside the warehouse
    is a copy that erasure would have to reach too."""
    before = {(r.get("kind"), r.get("tag")): r for r in records}
    for suggestion in suggestions:
        match = before.get((suggestion.kind, suggestion.tag))
        suggestion.previous = {"as_of": day.isoformat()} | (
            {"condition": match.get("condition"), "members": match.get("members")} if match else {}
        )


def write_review(
    inputs: Inputs, folder: Path, seed: int = 7
) -> tuple[list[Suggestion], list[Path]]:
    """The suggestions of a build written into a folder: suggestions-D.json, the review
    file suggestions-D.yml and the page suggestions-D.html; returns them and the paths.
    Each is compared with the folder's newest review of an earlier build, if any."""
    suggestions = suggest(inputs, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    if (earlier := previous_review(folder, inputs.as_of)) is not None:
        compare_with_previous(suggestions, *earlier)
    stem = folder / f"suggestions-{inputs.as_of}"
    paths = [stem.with_suffix(suffix) for suffix in (".json", ".yml", ".html")]
    records = [s.as_dict() for s in suggestions]
    paths[0].write_text(json.dumps(records, indent=2, default=str) + "\n", encoding="utf-8")
    paths[1].write_text(review_snippets(suggestions, inputs.as_of) + "\n", encoding="utf-8")
    paths[2].write_text(
        html_page(suggestions, inputs.as_of, len(inputs.customers)), encoding="utf-8"
    )
    return suggestions, paths
