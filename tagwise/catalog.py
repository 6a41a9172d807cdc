"""Validation of the declarative catalogs before anything runs.

The tag catalog is the `meta.rules` of model int_tags__rule_matches in
dbt_project/models/intermediate/tags/tag_catalog.yml. A rule names a taxonomy tag, a SQL
condition over the documented columns of int_tags__inputs, and an evidence template.
Every problem found is reported with the tag it belongs to, all at once.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import sqlglot
import yaml
from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from tagwise.dbt import PROJECT_DIR

SEEDS_DIR = PROJECT_DIR.parent / "seeds"
TAGS_DIR = PROJECT_DIR / "models" / "intermediate" / "tags"
TAG_CATALOG = TAGS_DIR / "tag_catalog.yml"
TAG_INPUTS_DOC = TAGS_DIR / "_tags__models.yml"
SEGMENT_CATALOG = PROJECT_DIR / "models" / "intermediate" / "segments" / "segment_catalog.yml"

# Functions a condition may call: each exists on DuckDB (regexp_like as the project's
# macro) and on Spark with the same meaning.
PORTABLE_FUNCTIONS = frozenset(
    {
        "coalesce",
        "lower",
        "upper",
        "abs",
        "least",
        "greatest",
        "round",
        "length",
        "regexp_like",
        "cast",
        "case",
    }
)
# Keywords that may stand before "(" without being a function call.
SQL_WORDS_BEFORE_PARENS = frozenset(
    {"in", "not", "and", "or", "exists", "then", "else", "when", "is", "as"}
)
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)(?::([a-z]+))?\}")
EVIDENCE_STYLES = frozenset({"pct", "money"})
RULE_KEYS = frozenset({"tag", "when", "evidence", "source", "unless"})
RULE_SOURCES = frozenset({"rule", "model"})


class CatalogError(Exception):
    """The catalog cannot be used; the message lists every problem, each with its tag."""

    def __init__(self, catalog: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{catalog} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Vocabulary:
    """The taxonomy (tag -> status, replaced_by) and synonyms (alias -> tag)."""

    tags: dict[str, dict[str, str]]
    synonyms: dict[str, str]

    @classmethod
    def from_seeds(cls, seeds: Path = SEEDS_DIR) -> Vocabulary:
        with (seeds / "tag_taxonomy.csv").open(newline="", encoding="utf-8") as handle:
            tags = {row["tag"]: row for row in csv.DictReader(handle)}
        with (seeds / "tag_synonyms.csv").open(newline="", encoding="utf-8") as handle:
            synonyms = {row["alias"]: row["tag"] for row in csv.DictReader(handle)}
        return cls(tags, synonyms)


def model_meta(properties: Path, model: str) -> dict:
    document = yaml.safe_load(properties.read_text(encoding="utf-8")) or {}
    for node in document.get("models", []):
        if node.get("name") == model:
            return (node.get("config") or {}).get("meta") or {}
    raise CatalogError(properties, [f"no model named {model} in the file"])


def documented_columns(properties: Path, model: str) -> set[str]:
    document = yaml.safe_load(properties.read_text(encoding="utf-8")) or {}
    for node in document.get("models", []):
        if node.get("name") == model:
            return {column["name"] for column in node.get("columns", [])}
    raise CatalogError(properties, [f"no model named {model} in the file"])


def called_functions(condition: str) -> set[str]:
    """Names called in the condition as written: the SQL reaches the engine verbatim, so a
    name sqlglot would translate (regexp_matches to rlike) still counts as written."""
    tokens = Tokenizer().tokenize(condition)
    return {
        token.text.lower()
        for token, following in pairwise(tokens)
        if following.token_type == TokenType.L_PAREN
        and token.text.lower() not in SQL_WORDS_BEFORE_PARENS
    }


def condition_problems(
    condition: object, columns: set[str], functions: frozenset[str] = PORTABLE_FUNCTIONS
) -> list[str]:
    """What is wrong with a SQL condition: syntax, unknown columns, unportable functions."""
    if not isinstance(condition, str) or not condition.strip():
        return ["`when` must be a non-empty SQL condition"]
    try:
        statement = sqlglot.parse_one(f"select 1 from inputs where {condition}", read="duckdb")
    except sqlglot.errors.ParseError as error:
        first = str(error).splitlines()[0]
        return [f"invalid SQL in `when`: {first}"]
    where = statement.args.get("where")
    if (
        where is None
        or statement.args.get("group")
        or statement.args.get("order")
        or statement.args.get("limit")
    ):
        return ["invalid SQL in `when`: it must be a single condition"]
    problems = []
    if any(node is not statement for node in where.find_all(exp.Select)):
        problems.append("`when` may not contain a subquery")
    unknown = sorted({c.name for c in where.find_all(exp.Column)} - columns)
    if unknown:
        problems.append(f"unknown column(s) in `when`: {', '.join(unknown)}")
    unportable = sorted(called_functions(condition) - functions)
    if unportable:
        problems.append(
            f"function(s) not allowed in `when`: {', '.join(unportable)} "
            f"(portable ones: {', '.join(sorted(functions))})"
        )
    return problems


def evidence_problems(template: object, columns: set[str]) -> list[str]:
    if not isinstance(template, str) or not template.strip():
        return ["`evidence` must be a sentence"]
    problems = []
    used = PLACEHOLDER.findall(template)
    if not used:
        problems.append("`evidence` names no {column}: a person must see the numbers")
    unknown = sorted({column for column, _ in used} - columns)
    if unknown:
        problems.append(f"unknown column(s) in `evidence`: {', '.join(unknown)}")
    styles = sorted({style for _, style in used if style} - EVIDENCE_STYLES)
    if styles:
        problems.append(f"unknown format(s) in `evidence`: {', '.join(styles)} (use pct or money)")
    if "{" in PLACEHOLDER.sub("", template) or "}" in PLACEHOLDER.sub("", template):
        problems.append("`evidence` has a brace that is not a {column} placeholder")
    return problems


def repeated_first_positions(names: list) -> dict[int, int]:
    """For each name that occurs more than once: its first position -> how many times it occurs,
    so that a repeated definition is reported once, at its first place."""
    counts = Counter(names)
    first: dict[object, int] = {}
    for position, name in enumerate(names):
        if name and counts[name] > 1:
            first.setdefault(name, position)
    return {position: counts[name] for name, position in first.items()}


def tag_rule_problems(rules: object, vocabulary: Vocabulary, columns: set[str]) -> list[str]:
    """Every problem of the tag catalog's rules, each starting with the tag it concerns."""
    if not isinstance(rules, list) or not rules:
        return ["the catalog has no rules (meta.rules must be a list)"]
    problems: list[str] = []
    repeated = repeated_first_positions(
        [rule.get("tag") if isinstance(rule, dict) else None for rule in rules]
    )
    names = {rule.get("tag") for rule in rules if isinstance(rule, dict)}
    for position, rule in enumerate(rules, 1):
        if not isinstance(rule, dict) or not rule.get("tag"):
            problems.append(f"rule {position}: every rule needs a `tag`")
            continue
        tag = rule["tag"]

        def report(problem: str, tag: str = tag) -> None:
            problems.append(f"tag {tag}: {problem}")

        unexpected = sorted(set(rule) - RULE_KEYS)
        if unexpected:
            report(
                f"unknown key(s) {', '.join(unexpected)} (allowed: {', '.join(sorted(RULE_KEYS))})"
            )
        if position - 1 in repeated:
            report(f"defined {repeated[position - 1]} times; a tag has one definition")
        entry = vocabulary.tags.get(tag)
        if tag in vocabulary.synonyms:
            report(f"is a synonym of {vocabulary.synonyms[tag]}; define the rule on that tag")
        elif entry is None:
            report("is not in the taxonomy (seeds/tag_taxonomy.csv); add it there first")
        elif entry["status"] != "active":
            replaced = f", replaced by {entry['replaced_by']}" if entry.get("replaced_by") else ""
            report(f"is {entry['status']} in the taxonomy{replaced}")
        if rule.get("source", "rule") not in RULE_SOURCES:
            report(f"source must be one of {', '.join(sorted(RULE_SOURCES))}")
        for other in rule.get("unless") or []:
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


SEGMENT_FUNCTIONS = PORTABLE_FUNCTIONS | {"has_tag"}
HAS_TAG = re.compile(r"has_tag\(\s*'([^']*)'\s*\)")


def segment_problems(catalog: dict, vocabulary: Vocabulary, columns: set[str]) -> list[str]:
    """Every problem of the segment catalog, each naming the segment it concerns."""
    problems: list[str] = []
    primary = catalog.get("primary") or []
    audiences = catalog.get("audiences") or []
    generated = catalog.get("generated") or []
    if not primary:
        return ["the catalog has no primary segments"]
    named = [("segment", d.get("segment"), d) for d in primary] + [
        ("audience", d.get("audience"), d) for d in audiences
    ]
    repeated = repeated_first_positions([name for _, name, _ in named])
    active = {tag for tag, row in vocabulary.tags.items() if row["status"] == "active"}
    for position, (kind, name, definition) in enumerate(named):
        if not name:
            problems.append(f"a {kind} definition has no name")
            continue

        def report(problem: str, name: str = name, kind: str = kind) -> None:
            problems.append(f"{kind} {name}: {problem}")

        if position in repeated:
            report(f"defined {repeated[position]} times; a name has one definition")
        if name.startswith(tuple(g.get("prefix", "") for g in generated if g.get("prefix"))):
            report("starts with a generated audience's prefix")
        condition = definition.get("when")
        for problem in condition_problems(condition, columns, SEGMENT_FUNCTIONS):
            report(problem)
        if isinstance(condition, str):
            for tag in HAS_TAG.findall(condition):
                if tag not in active:
                    report(f"has_tag('{tag}') names no active tag of the taxonomy")
            if condition.count("has_tag") != len(HAS_TAG.findall(condition)):
                report("has_tag takes one quoted tag, as in has_tag('high-value')")
    if str(primary[-1].get("when")).strip().lower() != "true":
        problems.append(
            f'segment {primary[-1].get("segment")}: the last primary segment must be `when: "true"` so that every customer has one'
        )
    for definition in generated:
        if not definition.get("prefix") or definition.get("column") not in columns:
            problems.append(
                f"generated audience {definition.get('prefix')}: needs a prefix and a column of the inputs"
            )
    known = {
        "segments": {d.get("segment") for d in primary},
        "audiences": {d.get("audience") for d in audiences},
        "generated": {g.get("prefix") for g in generated},
    }
    for destination, selection in (catalog.get("destinations") or {}).items():
        for kind, names in (selection or {}).items():
            if kind not in known:
                problems.append(
                    f"destination {destination}: unknown key {kind} (use segments, audiences, generated)"
                )
                continue
            for name in sorted(set(names or []) - known[kind]):
                problems.append(
                    f"destination {destination}: selects {name}, which no {kind[:-1]} defines"
                )
    return problems


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
    return (
        len(meta.get("primary") or [])
        + len(meta.get("audiences") or [])
        + len(meta.get("generated") or [])
    )
