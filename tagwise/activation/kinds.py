"""Destination kinds (SPEC 3.7), declared once in dbt_project.yml's `destination_kinds`
and read here and by the dbt macros (`macros/destinations.sql`): each kind's key column,
identifier, hashing, allowed fields, consent and delivery; and a catalog entry as a
Destination of its kind. tagwise.catalog validates the catalog against these."""

from __future__ import annotations

import functools
from typing import NamedTuple

from tagwise.dbt_project import project_var

# The model holding every destination's rows: key and fields, null where not received.
AUDIENCES = "destination_audiences"
CHANNELS = ("email", "sms", "phone", "any")  # `any`: withdrawn on no channel
PURPOSES = ("marketing", "profiling")
EMAIL_FIELDS = ("first_name", "last_name", "primary_segment", "audiences", "tags", "updated_on")


class Kind(NamedTuple):
    """A destination kind as dbt_project.yml's var `destination_kinds` declares it (read by
    the dbt macros too): the comment there says what each trait means."""

    key: str  # the column naming a person in the files and payloads
    fields: tuple[str, ...]  # what a destination of the kind may receive besides the key
    consent: tuple[tuple[str, str], ...]  # pairs a destination of the kind must require
    # The identifier the key is made from (int_identity__identifiers.identifier_type), and
    # whether it is sent as its SHA-256: erasure finds a person's keys from these.
    identifier: str = "email"
    hashed: bool = False
    phone_hash: str | None = None  # e164 or digits: how phone_sha256 is made
    # The platform's own import file: each column's header (key first); none: no file.
    import_headers: tuple[tuple[str, str], ...] = ()
    import_lists: str | None = None  # json: list fields as JSON arrays there
    delivery: str | None = None  # webhook: the changes are POSTed too

    @classmethod
    def from_var(cls, traits: dict) -> Kind:
        return cls(
            traits["key"],
            tuple(traits["fields"]),
            tuple((channel, purpose) for channel, purpose in traits["consent"]),
            traits.get("identifier", "email"),
            bool(traits.get("hashed", False)),
            traits.get("phone_hash"),
            tuple((traits.get("import_headers") or {}).items()),
            traits.get("import_lists"),
            traits.get("delivery"),
        )


@functools.cache
def destination_kinds() -> dict[str, Kind]:
    """Every destination kind dbt_project.yml declares, read when first asked for."""
    return {
        name: Kind.from_var(traits) for name, traits in project_var("destination_kinds").items()
    }


class Destination(NamedTuple):
    name: str
    kind: str
    fields: tuple[str, ...]  # the columns sent besides the key, in catalog order
    consent: tuple[tuple[str, str], ...]
    hold_share: float | None = None  # None: the settings' threshold
    hold_min_people: int | None = None

    @property
    def traits(self) -> Kind:
        """What its kind declares (dbt_project.yml's destination_kinds)."""
        return destination_kinds()[self.kind]

    @property
    def key(self) -> str:
        return self.traits.key

    @classmethod
    def from_entry(cls, entry: dict) -> Destination:
        """A catalog entry that tagwise.catalog.destination_problems passed."""
        return cls(
            entry["destination"],
            entry["kind"],
            tuple(entry.get("fields") or ()),
            tuple((channel, purpose) for channel, purpose in entry["consent"]),
            entry.get("hold_share"),
            entry.get("hold_min_people"),
        )
