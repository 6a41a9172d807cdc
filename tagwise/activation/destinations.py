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

from tagwise.activation.kinds import Destination, destination_kinds


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
        destination_kinds()[k]
        for k in (kinds if kinds is not None else {d.kind for d in destinations().values()})
    ]
    return {
        hashlib.sha256(identifier.encode()).hexdigest() if kind.hashed else identifier
        for identifier_type, identifier in identifiers
        for kind in chosen
        if kind.identifier == identifier_type
    }
