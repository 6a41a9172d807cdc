"""The destination catalog (destination_catalog.yml): each destination's kind, the consent
it needs, the fields it receives and the segments it selects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tagwise.activation.kinds import CHANNELS, PURPOSES, Kind, destination_kinds
from tagwise.catalog.documents import (
    DESTINATION_CATALOG,
    DESTINATION_NAME,
    SEGMENT_CATALOG,
    CatalogError,
    _name_problem,
    _names,
    model_meta,
    repeated_first_positions,
)
from tagwise.catalog.segments import selectable_names

# Each destination is a step of every run, a branch of destination_eligibility's union
# and an outbox folder: beyond this many, a run takes hours (10,004 never finished).
MAX_DESTINATIONS = 50

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
    kind = (
        destination_kinds().get(entry.get("kind")) if isinstance(entry.get("kind"), str) else None
    )
    if kind is None:
        problems.append(
            f"kind {entry.get('kind')!r} is not one of {', '.join(destination_kinds())}"
        )
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
