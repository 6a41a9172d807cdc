"""A known seasonal sequence to find: `tagwise generate --plant-sequence P`.

The seeds' "customers who buy hiking boots in spring are more likely to buy camping gear
in summer": each year, a share P of the customers active then (a fresh draw every year)
buy a TRIGGER product on a day of spring (March to May), and SUMMER_SHARE of them buy a
TARGET product on a day of summer (June to August) of the same year. Everyone else buys
TARGET only as the ordinary orders do, now and then. What the interests model should
find (SPEC 3.10): after a spring TRIGGER purchase, TARGET is likely in the next 90 days.

Each year's draws come from the chunk's own stream in year order, so a later `--end`
adds years without changing earlier rows, and `--since` writes the same rows a full
generation does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from tagwise.generator import vocabulary as v
from tagwise.generator.population import DAY, HOUR, Population, Window

TRIGGER = "sports-fitness"  # hiking boots
TARGET = "outdoor-camping"  # camping gear
SUMMER_SHARE = 0.8
# A mid-tier, non-eco product of each category (product index = cell * 3 + the first).
_MID, _NOT_ECO = 1, 0


def product_of(category: str) -> int:
    """The index (product id - 1) of the category's first mid-tier product."""
    cell = (v.CATEGORIES.index(category) * len(v.TIERS) + _MID) * 2 + _NOT_ECO
    return cell * v.PRODUCTS_PER_CELL


@dataclass(frozen=True)
class PlantedOrders:
    """Orders placed on top of the ordinary ones: who (index into the population), when
    (epoch seconds) and which product (index), one line each."""

    owner: np.ndarray
    when: np.ndarray
    product: np.ndarray


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def plant(pop: Population, window: Window, chunk: int, probability: float) -> PlantedOrders:
    rng = np.random.default_rng((pop.rng_seed[0], 12, chunk))
    first = datetime.fromtimestamp(window.start, UTC).year
    last = datetime.fromtimestamp(window.end - 1, UTC).year
    owners, moments, products = [], [], []
    for year in range(first, last + 1):
        spring, summer, autumn = (_epoch(date(year, m, 1)) for m in (3, 6, 9))
        chosen = rng.random(len(pop)) < probability
        follows = rng.random(len(pop)) < SUMMER_SHARE
        in_spring = spring + (rng.random(len(pop)) * (summer - spring - HOUR)).astype(np.int64)
        in_summer = summer + (rng.random(len(pop)) * (autumn - summer - HOUR)).astype(np.int64)
        active = (pop.active_from <= in_spring - DAY) & (pop.lapse > in_summer)
        buyers = np.flatnonzero(chosen & active)
        followers = np.flatnonzero(chosen & active & follows)
        owners += [buyers, followers]
        moments += [in_spring[buyers], in_summer[followers]]
        products += [
            np.full(len(buyers), product_of(TRIGGER)),
            np.full(len(followers), product_of(TARGET)),
        ]
    owner, when, product = (np.concatenate(part) for part in (owners, moments, products))
    keep = (when >= window.start) & (when < window.end)
    return PlantedOrders(owner[keep], when[keep], product[keep])
