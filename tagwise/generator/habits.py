"""Two shopping habits no shipped tag names, for `tagwise suggest` to find (SPEC 3.11):
`tagwise generate --plant-habits P`.

- **Night owls**: a share P of customers place every ordinary order through the app
  between 22:00 and 02:00 UTC of the day it was drawn on.
- **Kitchen then coffee**: another share P (an independent draw, night owls left out) buy a FIRST product and,
  one to six days later, a THEN product, once in every ROUTINE_DAYS while active (a
  coffee machine, then coffee: the seeds' "bought A, then B").

Draws are per customer from the chunk's own streams, so everyone else's rows, and every
other draw, are the same with or without the plant.
"""

from __future__ import annotations

import numpy as np

from tagwise.generator.interests import PlantedOrders, product_of
from tagwise.generator.population import DAY, HOUR, Population, Window

# The night owls' hours: from NIGHT_FROM for NIGHT_HOURS, wrapping past midnight within the
# order's own day (so an order never moves to another day, month or file).
NIGHT_FROM = 22 * HOUR
NIGHT_HOURS = 4 * HOUR
FIRST = "home-kitchen"
THEN = "food-coffee"
ROUTINE_DAYS = 91
THEN_AFTER_DAYS = (1, 6)


def night_owls(pop: Population, chunk: int, probability: float) -> np.ndarray:
    """Which of the population's customers are night owls."""
    rng = np.random.default_rng((pop.rng_seed[0], 13, chunk))
    return rng.random(len(pop)) < probability


def at_night(when: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same days at a moment between NIGHT_FROM and NIGHT_FROM + NIGHT_HOURS."""
    moment = (NIGHT_FROM + (rng.random(len(when)) * NIGHT_HOURS).astype(np.int64)) % DAY
    return when - when % DAY + moment


def routine(
    pop: Population, window: Window, chunk: int, probability: float, owls: np.ndarray
) -> PlantedOrders:
    """The kitchen-then-coffee customers' planted orders: in each ROUTINE_DAYS period of
    the window they are active in, FIRST on a random moment and THEN some days later. No
    night owl has this habit too, so that each planted group is plainly one habit."""
    rng = np.random.default_rng((pop.rng_seed[0], 15, chunk))
    chosen = (rng.random(len(pop)) < probability) & ~owls
    owners, moments, products = [], [], []
    for start in range(window.start, window.end, ROUTINE_DAYS * DAY):
        first = start + (rng.random(len(pop)) * (ROUTINE_DAYS - 7) * DAY).astype(np.int64)
        gap = rng.integers(THEN_AFTER_DAYS[0], THEN_AFTER_DAYS[1] + 1, len(pop)) * DAY
        then = first + gap
        buyers = np.flatnonzero(chosen & (pop.active_from <= first) & (pop.lapse > then))
        owners += [buyers, buyers]
        moments += [first[buyers], then[buyers]]
        products += [
            np.full(len(buyers), product_of(FIRST)),
            np.full(len(buyers), product_of(THEN)),
        ]
    owner, when, product = (np.concatenate(part) for part in (owners, moments, products))
    keep = when < window.end
    return PlantedOrders(owner[keep], when[keep], product[keep])
