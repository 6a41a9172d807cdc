"""Month-by-month activity of a population: orders, web sessions, email, support.

Each (chunk, calendar month) has its own random stream, and ids embed the month and the
chunk, so a month's rows never change when the window is extended.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.contract import ORDER_STATUSES, SOURCES_BY_NAME, WEB_EVENT_TYPES
from tagwise.generator import habits, interests, lift
from tagwise.generator import vocabulary as v
from tagwise.generator.arrow import ids, money, pick, table, texts, timestamps
from tagwise.generator.population import (
    DAY,
    HOUR,
    NEVER,
    STOP_KINDS,
    Population,
    Window,
    customer_id,
    masked,
)

# Scales the persona order rates so that a customer places about ten orders in two years.
ORDER_RATE_SCALE = 1.2
WEB_RATE_SCALE = 0.35
MINUTE = 60
# Ids are month * MONTH_ID + chunk * CHUNK_ID + sequence number.
MONTH_ID = 10**11
CHUNK_ID = 10**8

_CELLS = len(v.CATEGORIES) * len(v.TIERS) * 2
# "+HH:00" / "-HH:00" for whole-hour offsets from -12 to +14, indexed by offset + 12.
_OFFSET_SUFFIX = np.array([f"{'-' if h < 0 else '+'}{abs(h):02d}:00" for h in range(-12, 15)])


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_bounds(month: int) -> tuple[int, int]:
    year, m0 = divmod(month, 12)
    lo = datetime(year, m0 + 1, 1, tzinfo=UTC)
    days = calendar.monthrange(year, m0 + 1)[1]
    start = int(lo.timestamp())
    return start, start + days * DAY


def product_prices(seed: int) -> np.ndarray:
    """List price in cents of every product, indexed like product ids."""
    rng = np.random.default_rng((seed, 3))
    cells = np.repeat(np.arange(_CELLS), v.PRODUCTS_PER_CELL)
    tier = (cells // 2) % len(v.TIERS)
    bounds = np.array(v.TIER_PRICE_CENTS)
    cents = rng.uniform(bounds[tier, 0], bounds[tier, 1])
    return (np.round(cents / 100) * 100 - 1).astype(np.int64)  # prices end in .99


def products(seed: int) -> pa.Table:
    prices = product_prices(seed)
    n = len(prices)
    cell = np.arange(n) // v.PRODUCTS_PER_CELL
    category = cell // (2 * len(v.TIERS))
    tier = (cell // 2) % len(v.TIERS)
    eco = cell % 2 == 1
    cat_names = np.array(v.CATEGORIES)[category]
    tier_names = np.array(v.TIERS)[tier]
    label = np.char.add(np.char.add(cat_names, " "), tier_names)
    label = np.char.add(
        np.char.add(label, np.where(eco, " eco #", " #")), (np.arange(n) % 3 + 1).astype(str)
    )
    return table(
        SOURCES_BY_NAME["products"],
        {
            "product_id": ids("P", np.arange(1, n + 1)),
            "name": texts(label.astype(object)),
            "category": texts(cat_names.astype(object)),
            "price_tier": texts(tier_names.astype(object)),
            "is_eco": pa.array(eco),
        },
    )


def _spread(
    rng, counts: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row per event: owner index and a uniform moment in the owner's [lo, hi)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    when = lo[owner] + (rng.random(len(owner)) * (hi[owner] - lo[owner])).astype(np.int64)
    return owner, when


def _overlap(
    a: np.ndarray, b: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start = np.maximum(a, lo)
    end = np.minimum(b, hi)
    days = np.maximum(end - start, 0) / DAY
    return start, np.maximum(end, start), days


class MonthActivity:
    def __init__(
        self,
        pop: Population,
        window: Window,
        month: int,
        chunk: int,
        prices: np.ndarray,
        planted: lift.PlantedLift | None = None,
        sequence: interests.PlantedOrders | None = None,
        night_owls: np.ndarray | None = None,
        routine: interests.PlantedOrders | None = None,
        launched: interests.PlantedOrders | None = None,
    ):
        self.routine = routine
        self.launched = launched
        self.pop = pop
        self.night_owls = night_owls
        self.planted = planted
        self.sequence = sequence
        self.window = window
        self.month = month
        self.chunk = chunk
        self.prices = prices
        self.lo, self.hi = month_bounds(month)
        self.lo = max(self.lo, window.start)
        self.season = v.SEASONALITY[month % 12]
        self.rng_seed = (*pop.rng_seed[:1], 4, chunk, month)
        self.rng = np.random.default_rng(self.rng_seed)

    def _ids(self, prefix: str, count: int, kind: int) -> pa.Array:
        base = self.month * MONTH_ID + self.chunk * CHUNK_ID + kind * (CHUNK_ID // 10)
        return ids(prefix, base + np.arange(count))

    def build(self) -> dict[str, pa.Table]:
        orders, lines, web_orders = self.orders()
        if self.planted is not None:
            lifted = self.planted
            extra = interests.PlantedOrders(
                lifted.owner, lifted.when, np.full(len(lifted.owner), lift.PRODUCT)
            )
            orders, lines = self._with_planted_orders(orders, lines, extra, kind=5)
        if self.sequence is not None:
            orders, lines = self._with_planted_orders(orders, lines, self.sequence, kind=6)
        if self.routine is not None:
            orders, lines = self._with_planted_orders(orders, lines, self.routine, kind=7)
        if self.launched is not None:
            orders, lines = self._with_planted_orders(orders, lines, self.launched, kind=8)
        out = {"orders": orders, "order_lines": lines}
        out["web_events"] = self.web_events(web_orders)
        out["email_events"] = self.email_events()
        out["support_tickets"] = self.support_tickets()
        return out

    def orders(self) -> tuple[pa.Table, pa.Table, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        pop, rng = self.pop, self.rng
        repeat_from = np.where(pop.first_order < NEVER, pop.first_order + DAY, pop.active_from)
        start, end, days = _overlap(repeat_from, pop.lapse, self.lo, self.hi)
        rate = pop.param("order_rate") * ORDER_RATE_SCALE * self.season
        owner, when = _spread(rng, rng.poisson(rate * days), start, end)
        firsts = np.flatnonzero((pop.first_order >= self.lo) & (pop.first_order < self.hi))
        owner = np.concatenate([firsts, owner])
        when = np.concatenate([pop.first_order[firsts], when])
        n = len(owner)
        persona = pop.persona[owner]

        # Lines: category from the customer's favourites, tier and eco from the persona.
        n_lines = 1 + rng.poisson(1.4, n)
        line_order = np.repeat(np.arange(n), n_lines)
        line_no = np.arange(len(line_order)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
        lp = persona[line_order]
        lo_ = owner[line_order]
        cat_roll = rng.random(len(line_order))
        category = np.where(
            cat_roll < 0.55,
            pop.fav_category[lo_],
            np.where(
                cat_roll < 0.75,
                pop.second_category[lo_],
                rng.integers(0, len(v.CATEGORIES), len(line_order)),
            ),
        )
        tier_roll = rng.random(len(line_order))
        budget_p = v.PERSONA["budget_p"][lp]
        premium_p = v.PERSONA["premium_p"][lp]
        tier = np.where(tier_roll < budget_p, 0, np.where(tier_roll < budget_p + premium_p, 2, 1))
        eco = rng.random(len(line_order)) < v.PERSONA["eco_p"][lp]
        cell = (category * len(v.TIERS) + tier) * 2 + eco
        product = cell * v.PRODUCTS_PER_CELL + rng.integers(0, v.PRODUCTS_PER_CELL, len(line_order))
        quantity = 1 + rng.poisson(0.25, len(line_order))
        unit_cents = self.prices[product]
        gross = np.bincount(line_order, weights=quantity * unit_cents, minlength=n)

        discounted = rng.random(n) < v.PERSONA["discount_p"][persona]
        discount = np.where(discounted, np.round(gross * rng.uniform(0.05, 0.3, n)), 0).astype(
            np.int64
        )
        status = pick(rng, np.array(ORDER_STATUSES), n, [0.9, 0.06, 0.04])
        channel_roll = rng.random(n)
        channel = np.where(channel_roll < 0.6, "web", np.where(channel_roll < 0.85, "store", "app"))
        has_channel = rng.random(n) < 0.98
        if self.night_owls is not None:
            # Their own stream: the draws above and below are the same with or without it.
            owl = self.night_owls[owner]
            night = habits.at_night(when[owl], np.random.default_rng((*self.rng_seed, 14)))
            when, channel, has_channel = when.copy(), channel.copy(), has_channel | owl
            when[owl], channel[owl] = night, "app"
        order_ids = self._ids("O", n, 0)

        orders = table(
            SOURCES_BY_NAME["orders"],
            {
                "order_id": order_ids,
                "customer_id": customer_id(pop.gid[owner]),
                "ordered_at": timestamps(when),
                "status": texts(status.astype(object)),
                "channel": texts(channel.astype(object), has_channel),
                # Discount is optional: most undiscounted orders leave the cell empty.
                "discount_amount": masked(money(discount), (discount == 0) & (rng.random(n) < 0.8)),
            },
        )
        orders = self._store_time_with_offset(orders, owner, when, channel)
        lines = pa.table(
            {
                "order_id": order_ids.take(pa.array(line_order)),
                "line_no": pa.array(line_no, pa.int64()),
                "product_id": ids("P", product + 1),
                "quantity": pa.array(quantity, pa.int64()),
                "unit_price": money(unit_cents),
            }
        )
        keep = self.window.keep(when)
        web = (channel == "web") & keep
        web_orders = (
            owner[web],
            when[web],
            product[np.searchsorted(line_order, np.flatnonzero(web))],
        )
        return orders.filter(keep), lines.filter(keep[line_order]), web_orders

    def _with_planted_orders(
        self, orders: pa.Table, lines: pa.Table, extra: interests.PlantedOrders, kind: int
    ) -> tuple[pa.Table, pa.Table]:
        """The month's planted orders (tagwise.generator.lift and .interests), completed,
        through the app, one line of their product each; `kind` keeps their ids apart."""
        month = (extra.when >= self.lo) & (extra.when < self.hi) & self.window.keep(extra.when)
        owner, when, product = extra.owner[month], extra.when[month], extra.product[month]
        n = len(owner)
        order_ids = self._ids("O", n, kind)
        channel = np.full(n, "app", dtype=object)
        planted = table(
            SOURCES_BY_NAME["orders"],
            {
                "order_id": order_ids,
                "customer_id": customer_id(self.pop.gid[owner]),
                "ordered_at": timestamps(when),
                "status": texts(np.full(n, "completed", dtype=object)),
                "channel": texts(channel),
                "discount_amount": masked(money(np.zeros(n, np.int64)), np.ones(n, bool)),
            },
        )
        planted = self._store_time_with_offset(planted, owner, when, channel)
        planted_lines = pa.table(
            {
                "order_id": order_ids,
                "line_no": pa.array(np.ones(n, np.int64)),
                "product_id": ids("P", product + 1),
                "quantity": pa.array(np.ones(n, np.int64)),
                "unit_price": money(self.prices[product]),
            }
        )
        return (
            pa.concat_tables([orders, planted.cast(orders.schema)]),
            pa.concat_tables([lines, planted_lines.cast(lines.schema)]),
        )

    def _store_time_with_offset(self, orders: pa.Table, owner, when, channel) -> pa.Table:
        """Store tills report local time with its UTC offset; the pipeline must normalise it."""
        offsets = np.array([v.COUNTRY_UTC_OFFSET[c[0]] for c in v.COUNTRIES])[
            self.pop.country[owner]
        ]
        offsets = np.where(channel == "store", offsets, 0)
        local = pc.strftime(timestamps(when + offsets * HOUR), format="%Y-%m-%dT%H:%M:%S")
        suffix = np.where(channel == "store", _OFFSET_SUFFIX[offsets + 12], "Z")
        text = pc.binary_join_element_wise(local, pa.array(suffix.astype(object), pa.string()), "")
        return orders.set_column(orders.schema.get_field_index("ordered_at"), "ordered_at", text)

    def web_events(self, web_orders) -> pa.Table:
        pop, rng = self.pop, self.rng
        start, end, days = _overlap(pop.active_from, pop.lapse + 60 * DAY, self.lo, self.hi)
        rate = pop.param("web_rate") * WEB_RATE_SCALE * self.season
        owner, t0 = _spread(rng, rng.poisson(rate * days), start, end)
        s = len(owner)
        views = 1 + rng.poisson(0.8, s)
        cart = rng.random(s) < pop.param("cart_p")[owner]
        checkout = cart & (rng.random(s) < 0.3)
        per_session = views + cart + checkout
        sess = np.repeat(np.arange(s), per_session)
        pos = np.arange(len(sess)) - np.repeat(np.cumsum(per_session) - per_session, per_session)
        kind = np.where(pos < views[sess], 0, np.where(pos == views[sess], 1, 2))
        pricing_p = pop.param("pricing_p")[owner[sess]]
        page_roll = rng.random(len(sess))
        page = np.where(
            page_roll < pricing_p,
            "pricing",
            pick(rng, np.array(["home", "product", "product", "other"]), len(sess)),
        )
        page = np.where(kind == 1, "cart", np.where(kind == 2, "checkout", page))
        session_when = t0[sess] + pos * rng.integers(20, 5 * MINUTE, len(sess))
        product = pop.fav_category[owner[sess]] * 2 * len(
            v.TIERS
        ) * v.PRODUCTS_PER_CELL + rng.integers(0, 18, len(sess))

        # Every web order follows a session that viewed, carted and checked out.
        o_owner, o_when, o_product = web_orders
        k = len(o_owner)
        o_sess = np.repeat(np.arange(k), 3)
        o_kind = np.tile([0, 1, 2], k)
        o_when_ev = np.repeat(o_when, 3) - np.tile([15 * MINUTE, 10 * MINUTE, 2 * MINUTE], k)

        all_owner = np.concatenate([owner[sess], o_owner[o_sess]])
        all_session = np.concatenate([sess, s + o_sess])
        all_kind = np.concatenate([kind, o_kind])
        all_page = np.concatenate([page, np.array(["product", "cart", "checkout"])[o_kind]])
        all_when = np.concatenate([session_when, o_when_ev])
        all_product = np.concatenate([product, o_product[o_sess]])
        shows_product = (all_page == "product") | (all_kind == 1)
        logged_out = np.concatenate([rng.random(s) < 0.05, np.zeros(k, bool)])
        rows = table(
            SOURCES_BY_NAME["web_events"],
            {
                "event_id": self._ids("W", len(all_owner), 1),
                "session_id": self._ids("S", s + k, 2).take(pa.array(all_session)),
                "customer_id": masked(customer_id(pop.gid[all_owner]), logged_out[all_session]),
                "event_type": texts(np.array(WEB_EVENT_TYPES)[all_kind].astype(object)),
                "page_type": texts(all_page.astype(object)),
                "product_id": masked(ids("P", all_product + 1), ~shows_product),
                "occurred_at": timestamps(all_when),
            },
        )
        return rows.filter(self.window.keep(all_when))

    def email_events(self) -> pa.Table:
        pop, rng = self.pop, self.rng
        sent, audience = campaigns_in(self.lo, self.hi, planted=self.planted is not None)
        owners, whens, kinds, camp = [], [], [], [np.zeros(0, np.int64)]
        stop_tuesday = np.where(pop.stop_kind >= 0, (pop.mail_until - 9 * HOUR) // DAY * DAY, -1)
        for j, t in enumerate(sent):
            eligible = (pop.mail_from <= t) & (pop.mail_until > t)
            share = 0.6 if audience[j] is None else 0.15
            stops_here = (pop.stop_kind >= 0) & (stop_tuesday == t - 9 * HOUR)
            if self.planted is not None and audience[j] == lift.AUDIENCE:
                # The planted campaign reaches every mailable member who is not held out.
                rec = np.flatnonzero(eligible & self.planted.treated)
            else:
                rec = np.flatnonzero((eligible & (rng.random(len(pop)) < share)) | stops_here)
            soft = rng.random(len(rec)) < 0.015
            delivered_at = t + rng.integers(MINUTE, 40 * MINUTE, len(rec))
            opened = ~soft & (rng.random(len(rec)) < pop.param("open_p")[rec])
            open_at = delivered_at + (rng.exponential(6 * HOUR, len(rec))).astype(np.int64)
            clicked = opened & (rng.random(len(rec)) < pop.param("click_p")[rec])
            click_at = open_at + rng.integers(10, 10 * MINUTE, len(rec))
            for mask, at, kind in (
                (~soft, delivered_at, "delivered"),
                (soft, delivered_at, "bounce_soft"),
                (opened, open_at, "open"),
                (clicked, click_at, "click"),
            ):
                owners.append(rec[mask])
                whens.append(at[mask])
                kinds.append(np.full(mask.sum(), kind, dtype=object))
                camp.append(np.full(mask.sum(), j))
        # Unsubscribes, hard bounces and complaints answer the newsletter that preceded them.
        stops = np.flatnonzero(
            (pop.mail_until >= self.lo) & (pop.mail_until < self.hi) & (pop.stop_kind >= 0)
        )
        owners.append(stops)
        whens.append(pop.mail_until[stops])
        kinds.append(STOP_KINDS[pop.stop_kind[stops]].astype(object))
        owner = np.concatenate(owners)
        when = np.concatenate(whens)
        regular = campaign_ids(sent, audience).take(pa.array(np.concatenate(camp), pa.int64()))
        answered = campaign_ids(stop_tuesday[stops] + 9 * HOUR, [None] * len(stops))
        by_email = rng.random(len(owner)) < 0.1
        rows = table(
            SOURCES_BY_NAME["email_events"],
            {
                "event_id": self._ids("E", len(owner), 3),
                "campaign_id": pa.concat_arrays([regular, answered]),
                "customer_id": masked(customer_id(pop.gid[owner]), by_email),
                "email": texts(pop.email[owner], by_email),
                "event_type": texts(np.concatenate(kinds)),
                "occurred_at": timestamps(when),
            },
        )
        return rows.filter(self.window.keep(when))

    def support_tickets(self) -> pa.Table:
        pop, rng = self.pop, self.rng
        start, end, days = _overlap(pop.active_from, pop.lapse + 90 * DAY, self.lo, self.hi)
        owner, when = _spread(rng, rng.poisson(pop.param("ticket_rate") * days), start, end)
        topic = pick(rng, v.SUPPORT_TOPICS, len(owner)).astype(object)
        rows = table(
            SOURCES_BY_NAME["support_tickets"],
            {
                "ticket_id": self._ids("T", len(owner), 4),
                "customer_id": customer_id(pop.gid[owner]),
                "created_at": timestamps(when),
                "topic": texts(topic, topic != ""),
            },
        )
        return rows.filter(self.window.keep(when))


def campaigns_in(lo: int, hi: int, planted: bool = False) -> tuple[np.ndarray, list[str | None]]:
    """A newsletter every Tuesday 09:00 UTC, a targeted send every other Friday and, when a
    lift is planted, its campaign (tagwise.generator.lift)."""
    days = np.arange(lo // DAY, -(-hi // DAY))
    weekday = (days + 3) % 7  # Monday = 0
    tuesdays = days[weekday == 1]
    fridays = days[(weekday == 4) & ((days // 7) % 2 == 0)]
    sent = np.concatenate([tuesdays, fridays]) * DAY + 9 * HOUR
    audience: list[str | None] = [None] * len(tuesdays) + [
        v.CAMPAIGN_AUDIENCES[(d // 14) % len(v.CAMPAIGN_AUDIENCES)] for d in fridays
    ]
    if planted:
        sent = np.append(sent, lift.campaign_sent_at())
        audience.append(lift.AUDIENCE)
    order = np.argsort(sent, kind="stable")
    sent = sent[order]
    audience = [audience[i] for i in order]
    keep = (sent >= lo) & (sent < hi)
    return sent[keep], [a for a, k in zip(audience, keep, strict=True) if k]


def campaign_ids(sent: np.ndarray, audience: list[str | None]) -> pa.Array:
    day = timestamps(sent)
    stamp = pc.strftime(day, format="%Y%m%d")
    kind = pa.array(["N" if a is None else "T" for a in audience], pa.string())
    return pc.binary_join_element_wise("CMP-", stamp, kind, "")


def email_campaigns(window: Window, planted: bool = False) -> pa.Table:
    sent, audience = campaigns_in(window.start, window.end, planted)
    day = pc.strftime(timestamps(sent), format="%Y-%m-%d")
    names = [
        f"Weekly newsletter {d}" if a is None else f"{a.replace('-', ' ').title()} {d}"
        for d, a in zip(day.to_pylist(), audience, strict=True)
    ]
    rows = table(
        SOURCES_BY_NAME["email_campaigns"],
        {
            "campaign_id": campaign_ids(sent, audience),
            "name": texts(np.array(names, dtype=object)),
            "sent_at": timestamps(sent),
            "audience": pa.array(audience, pa.string()),
        },
    )
    return rows.filter(window.keep(sent))
