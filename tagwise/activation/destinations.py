"""The destinations tagwise sends audiences to: the destination catalog (SPEC 3.7).

The catalog is the `meta.destinations` of model destination_eligibility in
dbt_project/models/restricted/destinations/destination_catalog.yml (a deployment folder's
catalogs/destination_catalog.yml). dbt reads it to decide who is eligible where and what
each destination receives (marts.destination_audiences); Python reads it here for each
destination's key, fields and thresholds. tagwise.catalog validates it.
"""

from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple

from tagwise.dbt import project_var

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


KINDS = {name: Kind.from_var(traits) for name, traits in project_var("destination_kinds").items()}


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
        return KINDS[self.kind]

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


@functools.cache
def destinations() -> dict[str, Destination]:
    """The checked catalog's destinations by name (CatalogError when it has problems)."""
    from tagwise.catalog import check_destination_catalog

    return {d["destination"]: Destination.from_entry(d) for d in check_destination_catalog()}


def destination_keys(identifiers: list[tuple[str, str]], kinds: set[str] | None = None) -> set[str]:
    """The keys a person with these (identifier_type, identifier) may have at destinations
    of these kinds (default: the catalog's): addresses and E.164 phones, or their SHA-256
    where the kind sends hashes. Erasure and access reports find a person's rows by them."""
    chosen = [
        KINDS[k]
        for k in (kinds if kinds is not None else {d.kind for d in destinations().values()})
    ]
    return {
        hashlib.sha256(identifier.encode()).hexdigest() if kind.hashed else identifier
        for identifier_type, identifier in identifiers
        for kind in chosen
        if kind.identifier == identifier_type
    }
