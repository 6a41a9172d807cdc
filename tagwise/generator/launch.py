"""A product launch whose early buyers share a trait, for a lookalike audience to find:
`tagwise generate --plant-launch P`.

PRODUCT (a solar garden light, new to the catalog, not itself labelled eco) launches on
LAUNCH_DAY: the planted orders are the only ones of it. In the
EARLY_DAYS after it, a share P of the eco-conscious customers active then buy it, and a
share P / OTHERS_RARER of everyone else: its early buyers are mostly people whose other
purchases lean eco, a trait no column names (personas are hidden) and only behaviour
shows; the launch purchase itself moves no eco share. The shipped segment
catalog's like-launch-buyers grows an audience from those buyers (SPEC 3.10); the
customers most like them are the eco-conscious who have not bought it yet.

Draws come from the chunk's own stream, so everyone else's rows are the same with or
without the plant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from tagwise.generator import vocabulary as v
from tagwise.generator.interests import PlantedOrders
from tagwise.generator.population import DAY, HOUR, Population, Window

# Its early weeks end before the demo's planted campaign (generator/lift.py) and its
# conversion window begin, and long before the demo's as-of date.
LAUNCH_DAY = date(2026, 3, 15)
EARLY_DAYS = 45
OTHERS_RARER = 20
# A product new to the catalog, after every generated one (product id = index + 1): a
# mid-tier home-garden product that is not eco.
PRODUCT = len(v.CATEGORIES) * len(v.TIERS) * 2 * v.PRODUCTS_PER_CELL
PRODUCT_ID = f"P{PRODUCT + 1}"
PRICE_CENTS = 4_999


def product_row(products: pa.Table) -> pa.Table:
    """The products source with the launch product added after the generated ones."""
    row = pa.table(
        {
            "product_id": [PRODUCT_ID],
            "name": ["home-garden mid solar light (launch)"],
            "category": ["home-garden"],
            "price_tier": ["mid"],
            "is_eco": [False],
        }
    )
    return pa.concat_tables([products, row.cast(products.schema)])


def plant(pop: Population, window: Window, chunk: int, probability: float) -> PlantedOrders:
    """The launch's early orders: one each, on a moment of the EARLY_DAYS after launch."""
    rng = np.random.default_rng((pop.rng_seed[0], 16, chunk))
    launch = int(
        datetime(LAUNCH_DAY.year, LAUNCH_DAY.month, LAUNCH_DAY.day, tzinfo=UTC).timestamp()
    )
    eco = pop.persona == v.P["eco_conscious"]
    chance = np.where(eco, probability, probability / OTHERS_RARER)
    when = launch + (rng.random(len(pop)) * (EARLY_DAYS * DAY - HOUR)).astype(np.int64)
    active = (pop.active_from <= when) & (pop.lapse > when)
    buyers = np.flatnonzero((rng.random(len(pop)) < chance) & active)
    keep = (when[buyers] >= window.start) & (when[buyers] < window.end)
    buyers = buyers[keep]
    return PlantedOrders(buyers, when[buyers], np.full(len(buyers), PRODUCT))
