"""Validation of the declarative catalogs before anything runs.

The tag catalog is the `meta.rules` of model int_tags__rule_matches in
dbt_project/models/intermediate/tags/tag_catalog.yml. A rule names a taxonomy tag, a SQL
condition over the documented columns of int_tags__inputs, and an evidence template.
Every problem found is reported with the tag it belongs to, all at once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import sqlglot
import yaml
from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from tagwise.activation.kinds import CHANNELS, KINDS, PURPOSES, Kind
from tagwise.dbt_project import PROJECT_DIR, SEEDS_DIR, project_var
from tagwise.errors import TagwiseError
from tagwise.project import OWNED, owned
from tagwise.project import root as project_root

TAG_INPUTS_DOC = PROJECT_DIR / "models" / "intermediate" / "tags" / "_tags__models.yml"
# The catalogs a team edits: a deployment folder's own (tagwise.project), or the shipped ones.
TAG_CATALOG = owned("catalogs/tag_catalog.yml")
SEGMENT_CATALOG = owned("catalogs/segment_catalog.yml")
DESTINATION_CATALOG = owned("catalogs/destination_catalog.yml")

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
SEGMENT_KEYS = frozenset({"description", "when", "holdout", "salt"})
# min_members: the fewest customers a value needs to make an audience (a real catalog has
# hundreds of categories, most bought first by a handful of people).
GENERATED_KEYS = frozenset({"prefix", "column", "description", "min_members"})
# A holdout above half would leave the treated group the smaller one; a lift measured that
# way costs more sends than it saves.
MAX_HOLDOUT = 0.5
SALT = re.compile(r"[A-Za-z0-9._-]{1,100}")
# Names a catalog gives (tags, segments, audiences, destinations): lower-case words joined
# by `-`. They become SQL literals and file names, so nothing else is let through.
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A generated audience's prefix: a name followed by `-` (fans- makes fans-books-mystery).
PREFIX = re.compile(r"(?:[a-z0-9]+-)+")
COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# Each destination is a step of every run, a branch of destination_eligibility's union
# and an outbox folder: beyond this many, a run takes hours (10,004 never finished).
MAX_DESTINATIONS = 50
# A destination's name is also part of a table's (marts.<name>_audience_changes): a name
# with `-` would pass NAME and fail every run, so it is a lower-case SQL identifier.
DESTINATION_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# dbt renders Jinja in a properties file's config before any SQL runs: catalog text with a
# template delimiter would run something other than what was checked.
JINJA_DELIMITERS = ("{{", "{%", "{#", "}}", "%}", "#}")
# Outside string literals a condition is words, numbers, operators and parentheses: no
# statement separator, comment, quoted identifier, parameter, dollar quote or cast shorthand.
CODE_CHARACTERS = re.compile(r"[A-Za-z0-9_ \t\r\n(),.<>=!+\-*/%|]*")
# The expression nodes a condition may consist of (sqlglot's names): comparisons, logic,
# arithmetic, literals, documented columns and the allowed functions. Anything else (a
# subquery, a table, a star, a parameter, a statement) is refused by name.
ALLOWED_NODES = frozenset(
    {
        "Column", "Identifier", "Literal", "Boolean", "Null", "Paren", "Tuple",
        "And", "Or", "Not", "Xor",
        "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "Is", "In", "Between", "Like", "ILike",
        "Add", "Sub", "Mul", "Div", "IntDiv", "Mod", "Neg", "DPipe",
        "Case", "If", "Cast", "TryCast", "DataType",
        "Coalesce", "Lower", "Upper", "Abs", "Least", "Greatest", "Round", "Length",
        "RegexpLike", "Anonymous",
    }
)  # fmt: skip
DIALECTS = ("duckdb", "spark")
# Parentheses a condition may nest: far more than a person writes, far fewer than would
# exhaust the parser's recursion.
MAX_NESTING = 32


class CatalogError(TagwiseError):
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
        and (not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest)
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


def called_functions(condition: str) -> set[str]:
    """Names called in the condition as written: the SQL reaches the engine verbatim, so a
    name sqlglot would translate (regexp_matches to rlike) still counts as written."""
    tokens = Tokenizer().tokenize(condition)
    return {
        token.text.lower()
        for token, following in pairwise(tokens)
        if following.token_type == TokenType.L_PAREN
        and token.token_type != TokenType.L_PAREN  # `((`: grouping, no call
        and token.text.lower() not in SQL_WORDS_BEFORE_PARENS
    }


def template_problems(document: object, label: str = "the catalog", field: str = "") -> list[str]:
    """Every template delimiter anywhere in a catalog document (keys too), each named by the
    entry it stands in."""
    problems: list[str] = []
    if isinstance(document, dict):
        for kind in ("tag", "segment", "audience", "prefix"):
            if isinstance(document.get(kind), str):
                entry = "generated audience" if kind == "prefix" else kind
                label = f"{entry} {document[kind]}"
                break
        for key, value in document.items():
            problems += template_problems(key, label, field or "a key")
            problems += template_problems(value, label, str(key))
    elif isinstance(document, list):
        for item in document:
            problems += template_problems(item, label, field)
    elif isinstance(document, str) and (problem := _template_problem(document, field)):
        problems.append(f"{label}: {problem}")
    return problems


def _template_problem(text: str, field: str) -> str | None:
    found = [d for d in JINJA_DELIMITERS if d in text]
    if found:
        return (
            f"`{field}` contains {found[0]!r}: catalog text is never a template "
            "(dbt would render it before the SQL runs)"
        )
    return None


# A string literal as both engines read it: no backslash (Spark reads escapes) and no
# quote inside (DuckDB reads '' as a quote, Spark as two adjacent literals).
STRING_LITERAL = re.compile(r"('[^']*')")


def _lexical_problems(condition: str) -> list[str]:
    """What the characters of a condition allow that its parsed form would not show: the
    engines must read exactly the expression the check parsed."""
    problems = [p for p in [_template_problem(condition, "when")] if p]
    pieces = STRING_LITERAL.split(condition)
    code, literals = pieces[0::2], pieces[1::2]
    if "'" in "".join(code):
        return ["`when` has a string literal without its closing quote"]
    if "" in code[1:-1]:
        problems.append("`when` may not contain a quote inside a string literal")
    outside = " ".join(code)
    if not CODE_CHARACTERS.fullmatch(outside):
        shown = sorted({c for c in outside if not CODE_CHARACTERS.fullmatch(c)})
        problems.append(
            f"`when` may not contain {' '.join(repr(c) for c in shown)} outside a string literal "
            "(no statement separator, comment, quoted identifier, parameter or dollar quote)"
        )
    if "--" in outside or "/*" in outside or "*/" in outside:
        problems.append("`when` may not contain a comment")
    depth = deepest = 0
    for character in outside:
        depth += {"(": 1, ")": -1}.get(character, 0)
        deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        # The parser recurses per level: thousands of levels crash it, not the check.
        problems.append(f"`when` nests parentheses {deepest} deep (at most {MAX_NESTING})")
    if any(before[-1:].isalnum() or before.endswith("_") for before in code[:-1]):
        problems.append("`when` may not use a prefixed string (such as E'...' or X'...')")
    for text in literals:
        if "\\" in text:
            problems.append("`when` may not contain a backslash (the engines read it differently)")
        if any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in text):
            problems.append("`when` may not contain a control character or line separator")
    return list(dict.fromkeys(problems))


def _node_problems(condition: exp.Expression, columns: set[str]) -> list[str]:
    problems = []
    for node in condition.walk():
        kind = type(node).__name__
        if isinstance(node, exp.Select | exp.Subquery | exp.Query):
            problems.append("`when` may not contain a subquery")
        elif kind not in ALLOWED_NODES:
            problems.append(f"`when` may not use {kind} ({node.sql()[:40]})")
        elif isinstance(node, exp.Column) and node.table:
            problems.append(f"`when` names columns without a table: {node.sql()}")
        elif isinstance(node, exp.Anonymous) and node.name.lower() == "has_tag":
            if node.name != "has_tag":
                # dbt's macro finds has_tag( as written: another case would reach the engine.
                problems.append(f"write has_tag in lower case, not {node.name}")
            tags = node.expressions
            if len(tags) != 1 or not (isinstance(tags[0], exp.Literal) and tags[0].is_string):
                problems.append("has_tag takes one quoted tag, as in has_tag('high-value')")
    return problems


def condition_problems(
    condition: object, columns: set[str], functions: frozenset[str] = PORTABLE_FUNCTIONS
) -> list[str]:
    """What is wrong with a SQL condition: characters either engine would read differently,
    syntax on either engine, anything but an expression over the documented columns with
    the allowed functions."""
    if not isinstance(condition, str) or not condition.strip():
        return ["`when` must be a non-empty SQL condition"]
    problems = _lexical_problems(condition)
    if problems:
        return problems
    for dialect in DIALECTS:
        try:
            statement = sqlglot.parse_one(f"select 1 from inputs where {condition}", read=dialect)
        except sqlglot.errors.SqlglotError as error:
            first = str(error).splitlines()[0]
            return [f"invalid SQL in `when`: {first}"]
        where = statement.args.get("where")
        if (
            not isinstance(statement, exp.Select)
            or where is None
            or any(
                statement.args.get(part) for part in ("group", "order", "limit", "having", "joins")
            )
        ):
            return ["invalid SQL in `when`: it must be a single condition"]
        problems += _node_problems(where.this, columns)
    unknown = sorted({c.name for c in where.find_all(exp.Column)} - columns)
    if unknown:
        problems.append(f"unknown column(s) in `when`: {', '.join(unknown)}")
    unportable = sorted(called_functions(condition) - functions)
    if unportable:
        problems.append(
            f"function(s) not allowed in `when`: {', '.join(unportable)} "
            f"(portable ones: {', '.join(sorted(functions))})"
        )
    return list(dict.fromkeys(problems))


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


NAME_SHAPES = {
    NAME: "lower-case words joined by -",
    PREFIX: "lower-case words joined by - and ending in -",
    DESTINATION_NAME: "a lower-case letter, then up to 39 lower-case letters, digits or _ "
    "(it names the table marts.<destination>_audience_changes)",
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


SEGMENT_FUNCTIONS = PORTABLE_FUNCTIONS | {"has_tag"}
HAS_TAG = re.compile(project_var("has_tag_pattern"))


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
        return ["the catalog must be a mapping of primary, audiences, generated, destinations"]
    primary, problems = _definitions(catalog, "primary")
    audiences, found = _definitions(catalog, "audiences")
    generated, more = _definitions(catalog, "generated")
    problems += found + more
    if not primary:
        return [*problems, "the catalog has no primary segments"]
    named = [("segment", d.get("segment"), d) for d in primary] + [
        ("audience", d.get("audience"), d) for d in audiences
    ]
    repeated = repeated_first_positions([n if isinstance(n, str) else None for _, n, _ in named])
    active = {tag for tag, row in vocabulary.tags.items() if row["status"] == "active"}
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
            for tag in HAS_TAG.findall(condition):
                if tag not in active:
                    report(f"has_tag('{tag}') names no active tag of the taxonomy")
            if condition.count("has_tag") != len(HAS_TAG.findall(condition)):
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
    """What a destination may select from a segment catalog: segments, audiences, and
    generated audiences by prefix."""
    return {
        kind: {
            d.get(key)
            for d in (catalog.get(part) or [] if isinstance(catalog.get(part), list) else [])
            if isinstance(d, dict) and isinstance(d.get(key), str)
        }
        for kind, part, key in (
            ("segments", "primary", "segment"),
            ("audiences", "audiences", "audience"),
            ("generated", "generated", "prefix"),
        )
    }


DESTINATION_KEYS = frozenset(
    {
        "destination",
        "description",
        "kind",
        "consent",
        "selects",
        "fields",
        "hold_share",
        "hold_min_people",
    }
)


def destination_problems(catalog: object, known: dict[str, set[str]]) -> list[str]:
    """Every problem of the destination catalog, each naming the destination it concerns;
    `known` is what the segment catalog defines (selectable_names)."""
    entries = catalog.get("destinations") if isinstance(catalog, dict) else None
    if not isinstance(entries, list) or not entries:
        return ["the catalog has no destinations (meta.destinations must be a list)"]
    if len(entries) > MAX_DESTINATIONS:
        return [
            f"the catalog has {len(entries):,} destinations; at most {MAX_DESTINATIONS} are "
            "supported (each is a step of every run, a union branch in dbt and an outbox)"
        ]
    problems = []
    names = [e.get("destination") if isinstance(e, dict) else None for e in entries]
    repeated = repeated_first_positions(names)
    for position, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            problems.append(f"destination entry {position}: must be a mapping")
        elif problem := _name_problem("destination", entry.get("destination"), DESTINATION_NAME):
            problems.append(f"destination entry {position}: {problem}")
        else:
            found = _entry_problems(entry, known)
            if position - 1 in repeated:
                found.insert(
                    0, f"defined {repeated[position - 1]} times; a name has one definition"
                )
            problems += [f"destination {entry['destination']}: {p}" for p in found]
    return problems


def _entry_problems(entry: dict, known: dict[str, set[str]]) -> list[str]:
    problems = [
        f"unknown key {key} (use {', '.join(sorted(DESTINATION_KEYS))})"
        for key in sorted(set(entry) - DESTINATION_KEYS, key=str)
    ]
    if entry.get("description") is not None and not isinstance(entry["description"], str):
        problems.append("`description` must be text")
    kind = KINDS.get(entry.get("kind")) if isinstance(entry.get("kind"), str) else None
    if kind is None:
        problems.append(f"kind {entry.get('kind')!r} is not one of {', '.join(KINDS)}")
    elif entry["destination"] == "email" and entry["kind"] != "email":
        problems.append("feeds the email_audience table, so its kind must be email")
    problems += _consent_problems(entry.get("consent"), kind)
    problems += _selection_problems(entry.get("selects"), known)
    problems += _field_problems(entry, kind)
    share, people = entry.get("hold_share"), entry.get("hold_min_people")
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1
    ):
        problems.append("`hold_share` must be a number above 0 and at most 1")
    if people is not None and (
        isinstance(people, bool) or not isinstance(people, int) or people < 0
    ):
        problems.append("`hold_min_people` must be a whole number, 0 or more")
    return problems


def _field_problems(entry: dict, kind: Kind | None) -> list[str]:
    fields = _names(entry.get("fields"))
    if fields is None:
        return ["`fields` must be a list of field names"]
    if kind is None:
        return []
    problems = [
        f"field {field} is not sent to a {entry['kind']} destination (one of: {', '.join(kind.fields)})"
        for field in fields
        if field not in kind.fields
    ]
    problems += [
        f"field {field} is listed {count} times"
        for field, count in Counter(fields).items()
        if count > 1
    ]
    if entry["destination"] == "email":
        missing = [f for f in EMAIL_AUDIENCE_FIELDS if f not in fields]
        if missing:
            problems.append(
                f"feeds the email_audience table, which needs field(s) {', '.join(missing)}"
            )
    return problems


# The columns marts.email_audience publishes under a not-null contract.
EMAIL_AUDIENCE_FIELDS = ("primary_segment", "audiences", "tags", "updated_on")


def _consent_problems(consent: object, kind: Kind | None) -> list[str]:
    pairs = consent if isinstance(consent, list) else None
    if not pairs or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in pairs
    ):
        return ["`consent` must be a list of [channel, purpose] pairs, e.g. [[email, marketing]]"]
    problems = [
        f"consent [{channel}, {purpose}]: channel is one of {', '.join(CHANNELS)} and purpose one of {', '.join(PURPOSES)}"
        for channel, purpose in pairs
        if channel not in CHANNELS or purpose not in PURPOSES
    ]
    for channel, purpose in kind.consent if kind else ():
        if [channel, purpose] not in pairs:
            problems.append(
                f"consent must include [{channel}, {purpose}]: no destination of its kind may go without it"
            )
    return problems


def _selection_problems(selects: object, known: dict[str, set[str]]) -> list[str]:
    if not isinstance(selects, dict) or not selects:
        return ["`selects` must map segments, audiences or generated to lists of names"]
    problems = []
    for part, names in selects.items():
        if part not in known:
            problems.append(f"selects: unknown key {part} (use segments, audiences, generated)")
            continue
        listed = _names(names)
        if listed is None:
            problems.append(f"selects: {part} must be a list of names")
            continue
        for selected in sorted(set(listed) - known[part]):
            problems.append(
                f"selects {selected}, which no {part[:-1]} of the segment catalog defines"
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
    return sum(len(meta.get(part) or []) for part in ("primary", "audiences", "generated"))


def check_destination_catalog(
    catalog: Path | None = None, segment_catalog: Path | None = None
) -> list[dict]:
    """Raise CatalogError listing every problem; return the destinations otherwise."""
    catalog = catalog or DESTINATION_CATALOG
    segments = model_meta(segment_catalog or SEGMENT_CATALOG, "int_segments__assignments")
    meta = model_meta(catalog, "destination_eligibility")
    problems = destination_problems(meta, selectable_names(segments))
    if problems:
        raise CatalogError(catalog, problems)
    return meta["destinations"]


def check_catalogs(project_dir: Path | None = None) -> tuple[int, int, int]:
    """The three catalogs, checked before dbt parses the project: dbt renders the
    catalogs' text, so it must never see text that was not checked. Without a project
    folder, the catalogs a team edits (TAG_CATALOG, SEGMENT_CATALOG, DESTINATION_CATALOG).
    Returns (tag rules, segment definitions, destinations)."""
    _CHECKED.clear()  # what this check reads is what the run that follows may release
    root = PROJECT_DIR.parent if project_dir is None else project_dir.parent
    inputs_doc = root / TAG_INPUTS_DOC.relative_to(PROJECT_DIR.parent)
    tag_catalog, segment_catalog, destination_catalog = (
        (TAG_CATALOG, SEGMENT_CATALOG, DESTINATION_CATALOG)
        if project_dir is None
        else tuple(
            root / OWNED[f"catalogs/{name}_catalog.yml"]
            for name in ("tag", "segment", "destination")
        )
    )
    seeds = root / "seeds"
    return (
        check_tag_catalog(tag_catalog, inputs_doc, seeds),
        check_segment_catalog(segment_catalog, inputs_doc, seeds),
        len(check_destination_catalog(destination_catalog, segment_catalog)),
    )
