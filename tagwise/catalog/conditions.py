"""The SQL a catalog may hold: conditions over documented columns that mean the same on
DuckDB and Spark (a closed grammar, checked by sqlglot on both), and evidence templates."""

from __future__ import annotations

import re
import unicodedata
from itertools import pairwise

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

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


def condition_columns(condition: str) -> list[str]:
    """The input columns a catalog condition reads, in order of first mention."""
    names = [column.name for column in sqlglot.parse_one(condition).find_all(exp.Column)]
    return list(dict.fromkeys(names))


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
