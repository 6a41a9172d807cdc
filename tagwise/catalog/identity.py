"""The identity catalog (identity_catalog.yml): the identifiers, match rules, blocklist and
limits that decide which customer records are one person (SPEC 3.1).

Rule names, identifier names and blocklist entries reach SQL, so each is checked here
against a closed shape; a pattern must mean the same to DuckDB (RE2), Spark (Java) and
Python, so look-arounds, back-references and named classes other than \\d \\w \\s are refused.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tagwise.catalog.documents import (
    COLUMN_NAME,
    CatalogError,
    _name_problem,
    model_meta,
)
from tagwise.project import owned

IDENTITY_CATALOG = owned("catalogs/identity_catalog.yml")
CATALOG_MODEL = "int_identity__clusters"

# What a rule may compare, besides the catalog's extra identifiers: email and phone as
# normalised in staging, the rest of SPEC 2's customer columns as trimmed lower-case text.
BUILT_IN_IDENTIFIERS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "postal_code",
    "city",
    "region",
    "country",
)
# Identifiers that are not compared: a customer id names one record.
NOT_COMPARED = {"customer_id": "a customer_id names one record: a rule on it merges nothing"}
META_KEYS = frozenset({"extra_identifiers", "rules", "probabilistic", "blocklist", "limits"})
PROBABILISTIC_KEYS = frozenset({"rule", "fields", "blocking", "threshold", "compare"})
# How the probabilistic rule may compare a field (tagwise.identity.matching): by
# Jaro-Winkler similarity (text), by edit distance (code), or exactly.
COMPARISON_KINDS = ("text", "code", "exact")
BLOCKLIST_KEYS = frozenset({"values", "patterns", "repeated_digits"})
MAX_EXTRA_IDENTIFIERS = 20
MAX_RULES = 20
MAX_BLOCKLIST_ENTRIES = 500
MAX_VALUE_LENGTH = 200
# A limit of 1 would merge nothing; a large one lets a junk value chain thousands together.
SMALLEST_LIMIT, LARGEST_LIMIT = 2, 1000
# Pattern pieces RE2, Java and Python read alike.
UNPORTABLE_PATTERN = re.compile(r"\(\?|\\[1-9]|\\[a-ce-rt-vx-zA-CE-RT-VX-Z]|[\x00-\x1f]")


def identity_problems(meta: object, contract_columns: frozenset[str]) -> list[str]:
    """Every problem of the identity catalog's meta; `contract_columns`: the customers
    columns SPEC section 2 defines, which an extra identifier may not repeat."""
    if not isinstance(meta, dict):
        return ["config.meta must be a mapping"]
    problems = [
        f"unknown key {key!r} (known: {', '.join(sorted(META_KEYS))})"
        for key in meta
        if key not in META_KEYS
    ]
    extras, extra_problems = _extra_identifiers(meta.get("extra_identifiers"), contract_columns)
    problems += extra_problems
    known = (*BUILT_IN_IDENTIFIERS, *extras)
    problems += _rule_problems(meta.get("rules"), known)
    problems += _probabilistic_problems(meta.get("probabilistic"), known, meta.get("rules"))
    problems += _blocklist_problems(meta.get("blocklist"))
    problems += _limit_problems(meta.get("limits"), known)
    return problems


def _extra_identifiers(
    value: object, contract_columns: frozenset[str]
) -> tuple[list[str], list[str]]:
    if value is None:
        return [], []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return [], ["extra_identifiers must be a list of column names"]
    problems = []
    if len(value) > MAX_EXTRA_IDENTIFIERS:
        problems.append(f"extra_identifiers: at most {MAX_EXTRA_IDENTIFIERS} (found {len(value)})")
    for name, count in Counter(value).items():
        if count > 1:
            problems.append(f"extra identifier {name!r} is listed {count} times")
    for name in dict.fromkeys(value):
        if not COLUMN_NAME.fullmatch(name) or len(name) > 40:
            problems.append(
                f"extra identifier {name!r} is not a lower-case column name (a letter or _, "
                "then letters, digits or _; at most 40)"
            )
        elif name in contract_columns or name in NOT_COMPARED:
            problems.append(
                f"extra identifier {name!r} is a column the customers contract already has"
            )
    return [name for name in value if COLUMN_NAME.fullmatch(name)], problems


def _field_problems(where: str, fields: object, known: tuple[str, ...]) -> list[str]:
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        return [f"{where}: must be a non-empty list of identifiers"]
    problems = []
    for field, count in Counter(fields).items():
        if count > 1:
            problems.append(f"{where}: {field!r} is listed {count} times")
        if field in NOT_COMPARED:
            problems.append(f"{where}: {NOT_COMPARED[field]}")
        elif field not in known:
            problems.append(
                f"{where}: unknown identifier {field!r} (known: {', '.join(known)}; "
                "a column of your own goes in extra_identifiers)"
            )
    return problems


def _rule_problems(rules: object, known: tuple[str, ...]) -> list[str]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        return ["rules must be a list (priority order)"]
    if len(rules) > MAX_RULES:
        return [f"rules: at most {MAX_RULES} (found {len(rules)})"]
    problems = []
    names = [rule.get("rule") if isinstance(rule, dict) else None for rule in rules]
    for position, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            problems.append(f"rule {position}: must be a mapping with `rule` and `match`")
            continue
        if problem := _name_problem("rule", rule.get("rule")):
            problems.append(f"rule {position}: {problem}")
            continue
        where = f"rule {rule['rule']}"
        if names.count(rule["rule"]) > 1 and names.index(rule["rule"]) == position - 1:
            problems.append(f"{where}: the name is used by {names.count(rule['rule'])} rules")
        unknown = set(rule) - {"rule", "match", "description"}
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        problems += _field_problems(f"{where}: match", rule.get("match"), known)
    return problems


def _probabilistic_problems(value: object, known: tuple[str, ...], rules: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["probabilistic must be a mapping with rule, fields, blocking and threshold"]
    problems = []
    if problem := _name_problem("probabilistic rule", value.get("rule")):
        problems.append(f"probabilistic: {problem}")
    elif isinstance(rules, list) and any(
        isinstance(rule, dict) and rule.get("rule") == value["rule"] for rule in rules
    ):
        problems.append(f"probabilistic: the name {value['rule']!r} is a deterministic rule's")
    unknown = set(value) - PROBABILISTIC_KEYS
    if unknown:
        problems.append(f"probabilistic: unknown key(s) {', '.join(sorted(unknown))}")
    fields = value.get("fields")
    problems += _field_problems("probabilistic: fields", fields, known)
    if isinstance(fields, list) and len(set(fields)) < 2:
        problems.append("probabilistic: fields needs at least two identifiers to compare")
    blocking = value.get("blocking")
    if not isinstance(blocking, list) or not blocking:
        problems.append(
            "probabilistic: blocking must be a non-empty list of identifier lists (records "
            "are compared only when all identifiers of one list are equal)"
        )
    else:
        for position, fields_of_rule in enumerate(blocking, 1):
            problems += _field_problems(
                f"probabilistic: blocking {position}", fields_of_rule, known
            )
    compare = value.get("compare")
    if compare is not None and not isinstance(compare, dict):
        problems.append("probabilistic: compare must map fields to text, code or exact")
    for field, kind in (compare or {}).items() if isinstance(compare, dict) else ():
        if not isinstance(fields, list) or field not in fields:
            problems.append(
                f"probabilistic: compare names {field!r}, which is not among its fields"
            )
        if kind not in COMPARISON_KINDS:
            problems.append(
                f"probabilistic: compare {field}: {kind!r} is not one of {', '.join(COMPARISON_KINDS)}"
            )
    threshold = value.get("threshold")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (0.5 <= threshold < 1)
    ):
        problems.append(
            f"probabilistic: threshold {threshold!r} must be a match probability from 0.5 "
            "up to (not including) 1"
        )
    return problems


def _blocklist_problems(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["blocklist must be a mapping with values, patterns and repeated_digits"]
    problems = []
    unknown = set(value) - BLOCKLIST_KEYS
    if unknown:
        problems.append(f"blocklist: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("values", "patterns"):
        entries = value.get(key) or []
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            problems.append(f"blocklist: {key} must be a list of texts")
            continue
        if len(entries) > MAX_BLOCKLIST_ENTRIES:
            problems.append(f"blocklist: {key}: at most {MAX_BLOCKLIST_ENTRIES} entries")
        for entry in entries:
            if len(entry) > MAX_VALUE_LENGTH or any(ord(c) < 32 for c in entry):
                problems.append(
                    f"blocklist: {key}: {entry[:40]!r} is longer than {MAX_VALUE_LENGTH} "
                    "characters or holds a control character"
                )
            elif key == "values" and entry != entry.strip().lower():
                problems.append(
                    f"blocklist: value {entry!r} is compared after normalisation "
                    "(trimmed, lower-case): write it so"
                )
            elif key == "patterns":
                problems += _pattern_problems(entry)
    if not isinstance(value.get("repeated_digits", False), bool):
        problems.append("blocklist: repeated_digits must be true or false")
    return problems


def _pattern_problems(pattern: str) -> list[str]:
    if not pattern:
        return ["blocklist: an empty pattern matches every value"]
    if UNPORTABLE_PATTERN.search(pattern):
        return [
            f"blocklist: pattern {pattern!r} uses a look-around, a back-reference or an "
            "escape other than \\d \\w \\s \\. (DuckDB and Spark would read it differently)"
        ]
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        return [f"blocklist: pattern {pattern!r} is not a regular expression: {error}"]
    if compiled.search("") is not None:
        return [f"blocklist: pattern {pattern!r} matches the empty text, so every value"]
    return []


def _limit_problems(value: object, known: tuple[str, ...]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["limits must be a mapping: default, or an identifier, to a number of records"]
    problems = []
    for key, limit in value.items():
        if key != "default" and key not in known:
            problems.append(f"limits: unknown identifier {key!r}")
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not (SMALLEST_LIMIT <= limit <= LARGEST_LIMIT)
        ):
            problems.append(
                f"limits: {key}: {limit!r} must be a whole number of records from "
                f"{SMALLEST_LIMIT} to {LARGEST_LIMIT}"
            )
    return problems


def check_identity_catalog(catalog: Path | None = None) -> dict:
    """Raise CatalogError listing every problem; return the catalog's meta otherwise."""
    from tagwise.contract import SOURCES

    catalog = catalog or IDENTITY_CATALOG
    meta = model_meta(catalog, CATALOG_MODEL)
    customers = next(source for source in SOURCES if source.name == "customers")
    problems = identity_problems(meta, frozenset(column.name for column in customers.columns))
    if problems:
        raise CatalogError(catalog, problems)
    return meta


def extra_identifiers() -> list[str]:
    """The customers columns the identity catalog declares, which ingestion keeps."""
    return list(check_identity_catalog().get("extra_identifiers") or [])
