"""SQL that types a landed file's text cells and explains every row it rejects.

Built from the contract declarations in `tagwise.contract`; one expression per column for
the typed value and one per rule for the reason, so every rejected row says which value
broke which rule.
"""

from __future__ import annotations

from datetime import datetime

from tagwise.contract import Column, Kind, Source

SQL_TYPES = {
    Kind.TEXT: "varchar",
    Kind.ENUM: "varchar",
    Kind.COUNTRY: "varchar",
    Kind.TIMESTAMP: "timestamp",
    Kind.DATE: "date",
    Kind.INTEGER: "bigint",
    Kind.DECIMAL: "decimal(18, 2)",
    Kind.BOOLEAN: "boolean",
}
INTEGER_PATTERN = r"^[+-]?[0-9]+$"
AMOUNT_PATTERN = r"^[+-]?([0-9]+(\.[0-9]{0,2})?|\.[0-9]{1,2})$"
BOOLEAN_WORDS = ("true", "false", "t", "f", "1", "0", "yes", "no")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cell(column: Column) -> str:
    """The cell as trimmed text, null when empty; a declared default fills empty cells."""
    cell = f"nullif(trim({q(column.name)}), '')"
    if column.default is not None:
        cell = f"coalesce({cell}, {literal(column.default)})"
    return cell


def typed_value(column: Column) -> str:
    cell = _cell(column)
    kind = column.kind
    if kind == Kind.TEXT:
        return cell
    if kind == Kind.ENUM:
        return f"case when lower({cell}) in ({_values(column)}) then lower({cell}) end"
    if kind == Kind.COUNTRY:
        return f"case when regexp_full_match(upper({cell}), '[A-Z]{{2}}') then upper({cell}) end"
    if kind == Kind.TIMESTAMP:
        return f"try_cast({cell} as timestamptz) at time zone 'UTC'"
    if kind == Kind.DATE:
        return f"try_cast({cell} as date)"
    if kind == Kind.INTEGER:
        return f"case when regexp_matches({cell}, '{INTEGER_PATTERN}') then try_cast({cell} as bigint) end"
    if kind == Kind.DECIMAL:
        return f"case when regexp_matches({cell}, '{AMOUNT_PATTERN}') then try_cast({cell} as decimal(18, 2)) end"
    if kind == Kind.BOOLEAN:
        words = ", ".join(literal(w) for w in BOOLEAN_WORDS)
        return f"case when lower({cell}) in ({words}) then try_cast(lower({cell}) as boolean) end"
    raise ValueError(f"unknown kind {kind}")


def _values(column: Column) -> str:
    return ", ".join(literal(v) for v in column.values)


_EXPECTED = {
    Kind.ENUM: None,
    Kind.COUNTRY: "an ISO 3166-1 alpha-2 country code",
    Kind.TIMESTAMP: "a timestamp",
    Kind.DATE: "a date",
    Kind.INTEGER: "a whole number",
    Kind.DECIMAL: "an amount with at most 2 decimals",
    Kind.BOOLEAN: "true or false",
}


def reasons(source: Source, loaded_at: datetime) -> list[str]:
    """One SQL expression per rule, each a sentence when the rule is broken, else null."""
    out: list[str] = []
    load_moment = f"timestamp '{loaded_at:%Y-%m-%d %H:%M:%S}'"
    for column in source.columns:
        name = column.name
        cell = _cell(column)
        value = typed_value(column)
        shown = f"'''' || {cell} || ''''"
        if column.required:
            role = "key" if name in source.key else "required value"
            out.append(f"case when {cell} is null then 'missing {role} {name}' end")
        if column.kind != Kind.TEXT:
            if column.kind == Kind.ENUM:
                expected = "one of " + ", ".join(column.values)
            else:
                expected = _EXPECTED[column.kind]
            out.append(
                f"case when {cell} is not null and ({value}) is null "
                f"then '{name} ' || {shown} || ' is not {expected}' end"
            )
        if column.minimum is not None:
            op, words = (">=", "at least") if column.minimum_inclusive else (">", "greater than")
            bound = f"{column.minimum:g}"
            out.append(
                f"case when not (({value}) {op} {bound}) "
                f"then '{name} ' || {shown} || ' must be {words} {bound}' end"
            )
        if column.kind == Kind.TIMESTAMP:
            out.append(
                f"case when ({value}) > {load_moment} + interval 1 day "
                f"then '{name} ' || {shown} || ' is more than one day after the load' end"
            )
    if source.one_of:
        present = " or ".join(f"{_cell(source.column(n))} is not null" for n in source.one_of)
        out.append(
            f"case when not ({present}) then 'needs at least one of {', '.join(source.one_of)}' end"
        )
    return out


def typed_select(source: Source, file_columns: list[str], loaded_at: datetime) -> str:
    """Typed contract columns, the joined reasons, and the original cells as JSON."""
    typed = ",\n    ".join(f"{typed_value(c)} as {q(c.name)}" for c in source.columns)
    reason = "nullif(concat_ws('; ', " + ", ".join(reasons(source, loaded_at)) + "), '')"
    original = ", ".join(f"{literal(c)}: {q(c)}" for c in file_columns)
    return (
        f"select _row,\n    {typed},\n    {reason} as _reason,\n"
        f"    to_json({{{original}}})::varchar as _original\nfrom _file"
    )


def create_table(source: Source, schema: str = "raw") -> str:
    columns = ",\n    ".join(f"{q(c.name)} {SQL_TYPES[c.kind]}" for c in source.columns)
    return (
        f"create table if not exists {schema}.{q(source.name)} (\n    {columns},\n"
        "    _source_file varchar not null,\n    _source_row bigint not null,\n"
        "    _load_id varchar not null,\n    _loaded_at timestamp not null\n)"
    )
