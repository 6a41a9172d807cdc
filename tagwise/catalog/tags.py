"""The tag catalog: the `meta.rules` of model int_tags__rule_matches (tag_catalog.yml). A
rule names a taxonomy tag, a SQL condition over the documented columns of
int_tags__inputs, and an evidence template."""

from __future__ import annotations

from pathlib import Path

from tagwise.catalog.conditions import condition_problems, evidence_problems
from tagwise.catalog.documents import (
    TAG_CATALOG,
    TAG_INPUTS_DOC,
    CatalogError,
    Vocabulary,
    _name_problem,
    _names,
    documented_columns,
    model_meta,
    repeated_first_positions,
)
from tagwise.dbt_project import SEEDS_DIR

RULE_KEYS = frozenset({"tag", "when", "evidence", "source", "unless"})
RULE_SOURCES = frozenset({"rule", "model"})


def tag_rule_problems(rules: object, vocabulary: Vocabulary, columns: set[str]) -> list[str]:
    """Every problem of the tag catalog's rules, each starting with the tag it concerns."""
    if not isinstance(rules, list) or not rules:
        return ["the catalog has no rules (meta.rules must be a list)"]
    problems: list[str] = []
    tags = [
        rule.get("tag") if isinstance(rule, dict) and isinstance(rule.get("tag"), str) else None
        for rule in rules
    ]
    repeated = repeated_first_positions(tags)
    names = {tag for tag in tags if tag}
    for position, (rule, tag) in enumerate(zip(rules, tags, strict=True), 1):
        if tag is None:
            problems.append(f"rule {position}: every rule needs a `tag` (a name)")
            continue

        def report(problem: str, tag: str = tag) -> None:
            problems.append(f"tag {tag}: {problem}")

        unexpected = sorted(str(key) for key in set(rule) - RULE_KEYS)
        if unexpected:
            report(
                f"unknown key(s) {', '.join(unexpected)} (allowed: {', '.join(sorted(RULE_KEYS))})"
            )
        if position - 1 in repeated:
            report(f"defined {repeated[position - 1]} times; a tag has one definition")
        entry = vocabulary.tags.get(tag)
        if problem := _name_problem("tag", tag):
            report(problem)
        elif tag in vocabulary.synonyms:
            report(f"is a synonym of {vocabulary.synonyms[tag]}; define the rule on that tag")
        elif entry is None:
            report("is not in the taxonomy (seeds/tag_taxonomy.csv); add it there first")
        elif entry["status"] != "active":
            replaced = f", replaced by {entry['replaced_by']}" if entry.get("replaced_by") else ""
            report(f"is {entry['status']} in the taxonomy{replaced}")
        if (
            not isinstance(rule.get("source", "rule"), str)
            or rule.get("source", "rule") not in RULE_SOURCES
        ):
            report(f"source must be one of {', '.join(sorted(RULE_SOURCES))}")
        unless = _names(rule.get("unless"))
        if unless is None:
            report("`unless` must be a list of tags")
        for other in unless or []:
            if other not in names:
                report(f"`unless` names {other}, which no rule defines")
        for problem in condition_problems(rule.get("when"), columns):
            report(problem)
        for problem in evidence_problems(rule.get("evidence"), columns):
            report(problem)
    return problems


def check_tag_catalog(
    catalog: Path = TAG_CATALOG, inputs_doc: Path = TAG_INPUTS_DOC, seeds: Path = SEEDS_DIR
) -> int:
    """Raise CatalogError listing every problem; return the number of rules otherwise."""
    rules = model_meta(catalog, "int_tags__rule_matches").get("rules")
    problems = tag_rule_problems(
        rules, Vocabulary.from_seeds(seeds), documented_columns(inputs_doc, "int_tags__inputs")
    )
    if problems:
        raise CatalogError(catalog, problems)
    return len(rules)
