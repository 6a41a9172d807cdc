"""Change sets (SPEC 3.7): what an export sends a destination, compared with what it last
acknowledged, and the export state tables they are kept in."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tagwise.activation.destinations import destinations
from tagwise.activation.kinds import AUDIENCES, Destination
from tagwise.errors import TagwiseError
from tagwise.relations import create_source_tables, ref, source

# Fields holding sorted lists: one text in the audience table and the CSV files, joined
# by LIST_SEPARATOR (the `sorted_list_agg` macro's; names never contain it), and a JSON
# array in JSON Lines, as list properties of email platforms expect.
LIST_FIELDS = ("audiences", "tags")
LIST_SEPARATOR = ", "


# The tables erased_identifiers_sql reads.
@functools.cache
def erased_people_tables():
    return [
        ref("int_identity__identifiers"),
        ref("int_identity__erased_people"),
    ]


# Every address and phone an erased person's records have held, not only the latest.
@functools.cache
def erased_identifiers_sql():
    return f"""
    select distinct i.identifier_type, i.identifier from {ref("int_identity__identifiers")} i
    join {ref("int_identity__erased_people")} using (customer_key)
    where i.identifier_type in ('email', 'phone')"""


# The addresses and phones someone not erased holds as of the build: an erased person's
# former phone may be another customer's now, and that customer's rows under it stay.
@functools.cache
def identifiers_held_by_others_sql():
    return f"""
    select distinct identifier_type, identifier from {ref("int_identity__identifiers")}
    where is_current and identifier_type in ('email', 'phone')
        and customer_key not in (select customer_key from {ref("int_identity__erased_people")})"""


def export_inputs() -> list[str]:
    """The built tables an export of any destination reads."""
    return [ref(AUDIENCES), ref("build_info")]


def audience_changes() -> str:
    """Every destination's change sets not yet acknowledged, published with the marts (the
    dbt source activation.audience_changes); a sync's rows are those of its sync_id."""
    return source("activation", "audience_changes")


class ExportError(TagwiseError):
    """The export or acknowledgement cannot proceed; the message says why."""


@dataclass(frozen=True)
class Sync:
    sync_id: str
    destination: str
    adds: int
    updates: int
    removes: int
    resent: bool
    files: tuple[Path, ...]
    # Set by `acknowledge` when the sync had been acknowledged before (nothing changed).
    acknowledged_before: bool = False
    # Above the destination's thresholds: written aside under held/, not sent (SPEC 3.7, rule 4).
    held: bool = False
    # A webhook destination's delivery this run (tagwise.activation.webhook.Delivery.describe).
    delivery: str | None = None
    # Whether that delivery left batches unacknowledged (a receiver failing or away).
    delivery_failed: bool = False

    def refuse_failed_delivery(self) -> None:
        """Raise when the webhook delivery did not finish: the run ends failed, naming
        the destination (the sync stays pending; the next run resumes it)."""
        if self.delivery_failed:
            raise ExportError(
                f"destination {self.destination}: the webhook delivery of sync {self.sync_id} "
                f"did not finish ({self.delivery}); it stays pending"
            )

    @property
    def changes(self) -> int:
        return self.adds + self.updates + self.removes


@dataclass(frozen=True)
class HoldThresholds:
    """When a sync is held rather than sent (SPEC 3.7, rule 4): its adds or its removes are
    more than `share` of the audience the destination acknowledged and at least
    `min_people`. A destination that has acknowledged nothing yet takes its first load."""

    share: float
    min_people: int

    @classmethod
    def for_destination(cls, destination: Destination) -> HoldThresholds:
        """The destination's catalog thresholds, else the settings'."""
        from tagwise.settings import current

        settings = current()
        return cls(
            settings.sync_hold_share if destination.hold_share is None else destination.hold_share,
            settings.sync_hold_min_people
            if destination.hold_min_people is None
            else destination.hold_min_people,
        )

    def holds(self, acknowledged: int | None, adds: int, removes: int) -> bool:
        if acknowledged is None:
            return False
        return any(n >= self.min_people and n > self.share * acknowledged for n in (adds, removes))


# A held sync's files are written here, out of the outbox that the destination's loader
# reads, until `tagwise sync approve` moves them in or `tagwise sync reject` drops them.
HELD = "held"


def current_sql(destination: str) -> str:
    """Key and payload (JSON, keys in alphabetical order) of every row the destination
    receives. Names in the catalog are checked words (tagwise.catalog), safe as literals."""
    fields = ", ".join(f"{c} := {c}" for c in sorted(destinations()[destination].fields))
    payload = f"to_json(struct_pack({fields}))::varchar" if fields else "'{}'"
    return (
        f"select key, {payload} as payload from {ref(AUDIENCES)} "
        f"where destination = '{destination}'"
    )


# Every key that may be at the destination: what it acknowledged, and what any sync sent
# since may have added. tagwise removes only these keys (SPEC 3.7, rules 1 and 2).
@functools.cache
def possibly_at_destination_sql() -> str:
    return f"""
    select key from {source("export", "acknowledged")} where destination = $destination
    union
    select key from {source("export", "unacknowledged_changes")}
    where destination = $destination and change <> 'remove'
"""


# One full outer join classifies every difference (a union of anti-joins would be
# plainer, but DuckDB 2.0.0 can answer that shape wrongly: README, known issues). A key
# that an unacknowledged sync touched may hold what that sync sent or what was
# acknowledged: it is added again after an unacknowledged remove, and updated when
# anything it may hold differs from its current row. A payload erasure redacted (null)
# is unknown, so its key is updated.
@functools.cache
def changes_sql() -> str:
    return f"""
with held as (
    select key, payload from {source("export", "acknowledged")} where destination = $destination
),

sent as (
    select key, change, payload from {source("export", "unacknowledged_changes")}
    where destination = $destination
),

possible as ({possibly_at_destination_sql()}),

touched as (
    select key, bool_or(change = 'remove') as removed from sent group by key
)

select
    coalesce(current_rows.key, possible.key) as key,
    case
        when current_rows.key is null then 'remove'
        when held.key is null or touched.removed then 'add'
        else 'update'
    end as change,
    current_rows.payload
from _current as current_rows
full outer join possible
    on current_rows.key = possible.key
left join held
    on coalesce(current_rows.key, possible.key) = held.key
left join touched
    on coalesce(current_rows.key, possible.key) = touched.key
where
    current_rows.key is null
    or held.key is null
    or touched.removed
    or held.payload is distinct from current_rows.payload
    or exists (
        select 1 from sent
        where
            sent.key = current_rows.key
            and sent.change <> 'remove'
            and sent.payload is distinct from current_rows.payload
    )
"""


def compute_changes(con: duckdb.DuckDBPyConnection, destination: str) -> None:
    """Temp tables _current (the audience as key and payload) and _changes (what a sync
    made now would carry)."""
    con.execute(f"create or replace temp table _current as {current_sql(destination)}")
    con.execute(
        f"create or replace temp table _changes as {changes_sql()}", {"destination": destination}
    )


def unsent_removes(con: duckdb.DuckDBPyConnection, destination: str) -> list[tuple[str, str]]:
    """What the next change set would get wrong against SPEC 3.7: a key that may be at the
    destination but is no longer eligible without a remove, or a remove of a key tagwise
    never sent. The release gate checks this on the change set about to leave."""
    compute_changes(con, destination)
    return con.execute(
        f"""
        with possible as ({possibly_at_destination_sql()})
        select key, 'no remove for a key no longer eligible' from possible
        where key not in (select key from _current)
            and key not in (select key from _changes where change = 'remove')
        union all
        select key, 'remove of a key never sent' from _changes
        where change = 'remove' and key not in (select key from possible)
        """,
        {"destination": destination},
    ).fetchall()


# Characters that end a line for some readers (Python's str.splitlines, JavaScript) but that
# json.dumps(ensure_ascii=False) leaves as they are: written escaped, so a JSON Lines file
# has exactly one row per "\n" for every reader.
LINE_BREAKING = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _with_lists(row: dict) -> dict:
    """The row with each list field as a JSON array (empty when the text is)."""
    for field in LIST_FIELDS:
        if isinstance(row.get(field), str):
            row[field] = row[field].split(LIST_SEPARATOR) if row[field] else []
    return row


def change_record(key: str, item: str, change: str, payload: str | None) -> dict:
    """One change as JSON Lines files and webhook batches carry it: the key under its
    name, the change, and the fields (null for a remove)."""
    return {
        key: item,
        "change": change,
        "row": _with_lists(json.loads(payload)) if payload else None,
    }


def json_line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False).translate(LINE_BREAKING) + "\n"


def jsonl_rows(text: str) -> list[str]:
    """A JSON Lines file's rows, each with its "\n": split at "\n" only."""
    rows = text.split("\n")
    return [row + "\n" for row in rows[:-1]] + ([rows[-1]] if rows[-1] else [])


def create_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The export state and the change feed: the dbt sources `export` and `activation`
    (models/staging/export), where their columns, data types and constraints are written
    once."""
    # The change feed is published with the marts; on the Spark target dbt's marts are
    # elsewhere and this file may not have the schema yet (its DDL creates it).
    create_source_tables(con, "export")
    create_source_tables(con, "activation")
