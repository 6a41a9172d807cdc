"""A known lift to find: `tagwise generate --plant-lift P`.

One campaign targets the southern-hemisphere audience of the shipped segment catalog on
CAMPAIGN_DAY. Its members who are not held out (the catalog's holdout for that audience)
receive it, and each of them places one extra completed order of PRODUCT within
WINDOW_DAYS of the send with probability P; held-out members do not. So revenue per
member rises by exactly P times PRODUCT's price, and the conversion rate by P times the
share of members who would not have bought anyway: what audience_lift should find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from tagwise.generator import vocabulary as v
from tagwise.generator.population import DAY, HOUR, Population, Window
from tagwise.holdout import customer_key, is_held_out

# The audience's definition in dbt_project/models/intermediate/segments/segment_catalog.yml
# (tests/test_generator.py checks that they agree).
AUDIENCE = "southern-hemisphere"
COUNTRIES = frozenset({"AU", "NZ", "ZA", "AR", "BR", "CL", "UY"})
SALT = "southern-hemisphere-2026"
SHARE = 0.2
# A Wednesday 48 days before the demo's as-of date: its window has closed by then.
CAMPAIGN_DAY = date(2026, 5, 13)
WINDOW_DAYS = 30
# The product every planted order buys, once: index into the product list (P16, a premium
# book; its price depends on the seed).
PRODUCT = 15
_SOUTHERN = np.array([code in COUNTRIES for code, _, _ in v.COUNTRIES])


def campaign_sent_at() -> int:
    """The planted campaign's send, 09:00 UTC on CAMPAIGN_DAY, in epoch seconds."""
    day = datetime(CAMPAIGN_DAY.year, CAMPAIGN_DAY.month, CAMPAIGN_DAY.day, 9, tzinfo=UTC)
    return int(day.timestamp())


def treated(pop: Population) -> np.ndarray:
    """Members of the audience who are not held out of it."""
    member = _SOUTHERN[pop.country]
    held = np.array(
        [is_held_out(customer_key(f"C{gid + 1}"), SALT, SHARE) for gid in pop.gid], dtype=bool
    )
    return member & ~held


@dataclass(frozen=True)
class PlantedLift:
    """One chunk's planted campaign: its treated members (a mask over the population) and
    every planted order (customer index, moment), drawn once for all the chunk's months."""

    treated: np.ndarray
    owner: np.ndarray
    when: np.ndarray


def plant(pop: Population, window: Window, chunk: int, probability: float) -> PlantedLift:
    sent = campaign_sent_at()
    rng = np.random.default_rng((pop.rng_seed[0], 10, chunk))
    buys = rng.random(len(pop)) < probability
    after = 1 + (rng.random(len(pop)) * (WINDOW_DAYS * DAY - 1)).astype(np.int64)
    is_treated = treated(pop)
    owner = np.flatnonzero(buys & is_treated & (pop.active_from <= sent - HOUR))
    when = sent + after[owner]
    keep = (when >= window.start) & (when < window.end)
    return PlantedLift(is_treated, owner[keep], when[keep])
