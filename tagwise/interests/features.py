"""The purchases the interests model reads, and its candidate pairs with their features.

Purchases come from the build (completed orders by category, profiling objections left
out) through the target's engine; the features are computed in a local DuckDB on them,
so the same SQL serves both engines. Every feature of a cutoff C reads only purchases on
or before C, and the label only purchases in (C, C + H].

Candidates keep the cost linear in customers: a customer's own categories of the last
365 days, the `POPULAR_NEW` most popular categories new to them, the `ASSOCIATED`
categories most often bought by buyers of their own top categories, and those that
followed their recent categories most at this time a year earlier. Pairs are made for
the customers in scope (Pairs: a fixed sample for fits, batches for the ranking);
statistics of categories read every customer's purchases, once per window
(category_statistics), and each batch reads them.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from tagwise.relations import ref
from tagwise.spark import SparkSettings, session
from tagwise.warehouse import connect

HORIZON_DAYS = 90  # H: the window predicted
LOOKBACK_DAYS = 365  # a category bought within it is not new to the customer
POPULAR_DAYS = 90  # the popularity baseline's window
POPULAR_NEW = 20
ASSOCIATED = 20
OWN_TOP = 10  # own categories whose associations make candidates

# The local table the features read, and the customers whose pairs are made
# (Pairs.scope): statistics of categories read every customer's purchases.
PURCHASES = "interest_purchases"
SCOPE = "interest_scope"
# Fits and their measurement read the pairs of a fixed sample of at most FIT_CUSTOMERS
# customers; the ranking of D covers every customer, SCORING_BATCH at a time, so that
# memory stays bounded at any size. A customer's place in either is a hash of its key.
FIT_CUSTOMERS = 50_000
SCORING_BATCH = 50_000
BUCKETS = 1_000
# The dbt models purchases_sql() reads.
INTEREST_INPUTS = (
    "int_orders__completed",
    "stg_shop__order_lines",
    "stg_shop__products",
    "int_privacy__profiling_objections",
)


@functools.cache
def purchases_sql() -> str:
    """One row per completed order and category bought in it, for people who have not
    objected to profiling (portable SQL)."""
    return f"""
select orders.customer_key, orders.order_id, orders.ordered_on as day, products.category,
    sum(cast(lines.line_amount as double)) as amount
from {ref("int_orders__completed")} as orders
inner join {ref("stg_shop__order_lines")} as lines on orders.order_id = lines.order_id
inner join {ref("stg_shop__products")} as products on lines.product_id = products.product_id
where products.category is not null
    and orders.customer_key not in (
        select customer_key from {ref("int_privacy__profiling_objections")})
group by orders.customer_key, orders.order_id, orders.ordered_on, products.category
"""


def read_purchases(warehouse: Path, target: str = "duckdb") -> pa.Table:
    """The purchases of the latest build, through the target's engine."""
    if target == "spark":
        return session(SparkSettings.for_warehouse(warehouse)).sql(purchases_sql()).toArrow()
    with connect(warehouse, read_only=True) as con:
        return con.sql(purchases_sql()).to_arrow_table()


def load_purchases(con: duckdb.DuckDBPyConnection, purchases: pa.Table, as_of: date) -> None:
    """The purchases up to D as the local table the features read: nothing after D exists
    for what follows."""
    con.register("all_purchases", purchases)
    con.execute(
        f"create or replace table {PURCHASES} as select * from all_purchases where day <= $as_of "
        "order by customer_key, day, order_id, category",
        {"as_of": as_of},
    )
    con.unregister("all_purchases")
    con.execute(f"drop table if exists {STATISTICS_OF}")  # of purchases no longer held
    # Pairs are made for every customer until Pairs narrows the scope.
    con.execute(
        f"create or replace temp table {SCOPE} as select distinct customer_key from {PURCHASES}"
    )


# What each feature is, as a driver sentence names it: {value} is the pair's value;
# {association_source} the customer's category whose buyers buy it most, {sequence_source}
# and {seasonal_source} their recent category it follows most (lately, and a year ago at
# this time), {mean_share} the mean share of association_probability. A sentence naming
# a category the pair has none of (a value of 0 raised it: nothing leads to it) is
# NO_SOURCE's.
FEATURES = {
    "category_orders_per_month": "bought it in {value:.1f} orders a month",
    "category_orders_90d": "bought it in {value:.0f} orders in the last 90 days",
    "days_since_category": "last bought it {value:.0f} days ago",
    "category_order_share": "{value:.0%} of their orders hold it",
    "category_spend_share": "{value:.0%} of their spend is on it",
    "orders_per_month": "orders {value:.1f} times a month",
    "spend_per_month": "spends {value:.0f} a month",
    "categories_per_order": "buys {value:.1f} categories per order",
    "days_since_order": "last ordered {value:.0f} days ago",
    "popularity_90d": "{value:.0%} of recent customers bought it",
    "popularity_trend": "{value:.0%} of its recent buyers bought it in the last 30 days",
    "association_lift": "buyers of {association_source} buy it {value:.1f}x as often as others",
    "association_probability": "{mean_share:.0%} of the buyers of their top categories "
    "(such as {association_source}) buy it",
    "sequence_lift": "after {sequence_source} it is bought {value:.1f}x as often as otherwise",
    "seasonal_lift": "a year ago at this time, buyers of {seasonal_source} went on to buy it "
    "{value:.1f}x as often",
    "month": "the month is {value:.0f}",
}


NO_SOURCE = {
    "association_lift": "no category of theirs is often bought with it",
    "association_probability": "few buyers of their top categories buy it",
    "sequence_lift": "it follows none of their recent categories",
    "seasonal_lift": "a year ago, none of their recent categories led to it",
}
SOURCES = {
    "association_lift": "association_source",
    "association_probability": "association_source",
    "sequence_lift": "sequence_source",
    "seasonal_lift": "seasonal_source",
}


@dataclass(frozen=True)
class Window:
    """Features as of `cutoff`, labels in (cutoff, cutoff + horizon]."""

    cutoff: date
    horizon: int = HORIZON_DAYS

    @property
    def end(self) -> date:
        return self.cutoff + timedelta(days=self.horizon)


YEAR = 365


def first_purchase_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The day of the earliest purchase loaded (features.load_purchases), if any."""
    return con.execute(f"select min(day) from {PURCHASES}").fetchall()[0][0]


def training_windows(con: duckdb.DuckDBPyConnection, cutoff: date, horizon: int) -> list[Window]:
    """The labelled windows a fit as of `cutoff` learns from, their labels ending by it:
    the latest, (cutoff - H, cutoff], and the same season a year earlier, whose labels
    show what the season brings (on generated data with a planted spring-to-summer
    sequence, its buyers' summer category reached their top 3 for 90% of them with it
    and 49% without). The earlier one is left out when the purchases do not reach a
    horizon before it, so that its features have history to read (The Complete Journey,
    one year, never has it)."""
    windows = [Window(cutoff - timedelta(days=horizon), horizon)]
    earlier = Window(cutoff - timedelta(days=YEAR), horizon)
    first = first_purchase_day(con)
    if first is not None and first <= earlier.cutoff - timedelta(days=horizon):
        windows.append(earlier)
    return windows


class Pairs:
    """The candidate pairs of a connection's purchases (features.load_purchases): the
    labelled pairs fits learn from and are measured on, of the fixed sample of customers
    (computed once per window: a run's fit and its measurement share windows), and the
    pairs to rank, batch by batch."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        (customers,) = con.execute(
            f"select count(distinct customer_key) from {PURCHASES}"
        ).fetchall()[0]
        self.sample_buckets = min(BUCKETS, -(-BUCKETS * FIT_CUSTOMERS // max(customers, 1)))
        self.batches = max(1, -(-customers // SCORING_BATCH))
        self._found: dict[Window, pd.DataFrame] = {}

    def scope(self, low: int, high: int) -> None:
        """Pairs are made for the customers whose hash bucket is in [low, high)."""
        self.con.execute(
            f"create or replace temp table {SCOPE} as "
            f"select distinct customer_key from {PURCHASES} "
            f"where hash(customer_key) % {BUCKETS} >= $low and hash(customer_key) % {BUCKETS} < $high",
            {"low": low, "high": high},
        )

    def sample(self) -> None:
        """The scope of fits and measurements: the fixed sample."""
        self.scope(0, self.sample_buckets)

    def of(self, window: Window) -> pd.DataFrame:
        """The labelled pairs of the sample."""
        if window not in self._found:
            self.sample()
            self._found[window] = candidate_features(self.con, window)
        return self._found[window]

    def to_rank(self, window: Window) -> Iterator[pd.DataFrame]:
        """Every customer's unlabelled pairs, a batch of customers at a time."""
        edges = [round(BUCKETS * i / self.batches) for i in range(self.batches + 1)]
        for low, high in itertools.pairwise(edges):
            self.scope(low, high)
            yield candidate_features(self.con, window, labelled=False)

    def keep_only(self, *windows: Window) -> None:
        """Forget the pairs of every other window (their memory is freed)."""
        self._found = {w: rows for w, rows in self._found.items() if w in windows}

    def training(self, cutoff: date, horizon: int) -> tuple[pd.DataFrame, list[Window]]:
        """The labelled pairs a fit as of `cutoff` learns from, and their windows."""
        windows = training_windows(self.con, cutoff, horizon)
        return pd.concat([self.of(w) for w in windows], ignore_index=True), windows

    def sees_a_full_lookback(self, window: Window) -> bool:
        """The purchases reach back LOOKBACK_DAYS before the window's cutoff: "new to the
        customer" means there what it means in a window scored later."""
        first = first_purchase_day(self.con)
        return first is not None and first <= window.cutoff - timedelta(days=LOOKBACK_DAYS)


def candidate_features(
    con: duckdb.DuckDBPyConnection, window: Window, labelled: bool = True
) -> pd.DataFrame:
    """The candidate pairs of the customers in scope who bought in the 365 days to the
    cutoff, with their features; `is_new` (not bought in those days: the discovery booster
    scores it; `is_new_to_customer` is the same flag under the SPEC 3.10 name) and (if
    `labelled`) whether they bought it in the window."""
    category_statistics(con, window)
    label = (
        f""", exists (
            select 1 from {PURCHASES} as later
            where later.customer_key = candidates.customer_key
                and later.category = candidates.category
                and later.day > $cutoff and later.day <= $end) as label"""
        if labelled
        else ""
    )
    rows = (
        con.sql(
            _FEATURES_SQL.replace("{label}", label),
            params={"cutoff": window.cutoff, "horizon": window.horizon}
            | ({"end": window.end} if labelled else {}),
        )
        .to_arrow_table()
        # Text stays in Arrow buffers: a Python object per cell took most of a batch's
        # memory (10.9 GiB at 1,000,000 customers).
        .to_pandas(types_mapper=_arrow_text)
    )
    # DuckDB adds floats in parallel, in an order that can move the last bit between two
    # reads of the same rows; rounded, the same purchases give the same fit and version.
    floats = rows.select_dtypes("float").columns
    rows[floats] = rows[floats].round(9)
    return rows


def _arrow_text(arrow_type: pa.DataType) -> pd.StringDtype | None:
    text = pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    return pd.StringDtype("pyarrow") if text else None


# What the statistics tables hold now: (cutoff, horizon), dropped by load_purchases.
STATISTICS_OF = "interest_statistics_of"


def category_statistics(con: duckdb.DuckDBPyConnection, window: Window) -> None:
    """The statistics of categories as of the window's cutoff, over every customer's
    purchases: computed once per window and kept in the connection, so that each batch of
    customers ranked reads them instead of recomputing them."""
    try:
        held = con.execute(f"select cutoff, horizon from {STATISTICS_OF}").fetchall()
    except duckdb.CatalogException:
        held = []
    if held == [(window.cutoff, window.horizon)]:
        return
    parameters = {"cutoff": window.cutoff, "horizon": window.horizon}
    for table, select in _STATISTICS_SQL.items():
        used = {k: v for k, v in parameters.items() if f"${k}" in select}
        con.execute(f"create or replace temp table {table} as {select}", used)
    con.execute(
        f"create or replace temp table {STATISTICS_OF} as "
        "select $cutoff::date as cutoff, $horizon::integer as horizon",
        parameters,
    )


# Category statistics of a cutoff, in order (each may read the ones before). They read
# purchases on or before the cutoff only.
_STATISTICS_SQL = {
    "interest_history": f"""
select * from {PURCHASES} where day <= $cutoff and day > $cutoff - {LOOKBACK_DAYS}""",
    "interest_popularity": f"""
select
    category,
    count(distinct customer_key) as buyers,
    count(distinct customer_key) filter (where day > $cutoff - 30) as buyers_30d
from interest_history
where day > $cutoff - {POPULAR_DAYS}
group by category""",
    "interest_counts": f"""
select
    (select count(distinct customer_key) from interest_history
        where day > $cutoff - {POPULAR_DAYS}) as recent_customers,
    (select count(distinct customer_key) from interest_history) as customers""",
    # Customer-level co-purchase: P(bought B | bought A) over the history, and its lift.
    "interest_associations": """
with bought as (select distinct customer_key, category from interest_history),

category_buyers as (select category, count(*) as n from bought group by category),

pairs as (
    select a.category as source, b.category as target, count(*) as both_n
    from bought as a
    inner join bought as b on a.customer_key = b.customer_key and a.category <> b.category
    group by a.category, b.category
    having count(*) >= 5
)

select
    pairs.source,
    pairs.target,
    pairs.both_n / source_buyers.n as probability,
    pairs.both_n / source_buyers.n
    / (target_buyers.n / (select customers from interest_counts)) as lift
from pairs
inner join category_buyers as source_buyers on pairs.source = source_buyers.category
inner join category_buyers as target_buyers on pairs.target = target_buyers.category""",
    # Sequence: bought in (C - 2H, C - H], then in (C - H, C], against the base rate.
    "interest_sequences": """
with earlier as (
    select distinct customer_key, category from interest_history
    where day > $cutoff - 2 * $horizon and day <= $cutoff - $horizon
),

later as (
    select distinct customer_key, category from interest_history
    where day > $cutoff - $horizon
),

earlier_buyers as (select category, count(*) as n from earlier group by category),

later_buyers as (select category, count(*) as n from later group by category)

select
    earlier.category as source,
    later.category as target,
    count(*) / earlier_buyers.n
    / (later_buyers.n / (select count(distinct customer_key) from earlier)) as lift
from earlier
inner join later
    on earlier.customer_key = later.customer_key and earlier.category <> later.category
inner join earlier_buyers on earlier.category = earlier_buyers.category
inner join later_buyers on later.category = later_buyers.category
group by earlier.category, later.category, earlier_buyers.n, later_buyers.n
having count(*) >= 5""",
    # Seasonal sequence: the same a year earlier, bought in (C - 365 - H, C - 365], then
    # in (C - 365, C - 365 + H]: what followed what at this time of year, which the
    # latest windows cannot show ("hiking boots in spring, camping gear in summer"). Its
    # windows end before C.
    "interest_seasonal_sequences": f"""
with season_earlier as (
    select distinct customer_key, category from {PURCHASES}
    where day > $cutoff - 365 - $horizon and day <= $cutoff - 365
),

season_later as (
    select distinct season_later.customer_key, season_later.category
    from {PURCHASES} as season_later
    where season_later.day > $cutoff - 365 and season_later.day <= $cutoff - 365 + $horizon
        and season_later.customer_key in (select customer_key from season_earlier)
),

season_customers as (select count(distinct customer_key) as n from season_earlier),

season_earlier_buyers as (select category, count(*) as n from season_earlier group by category),

season_later_buyers as (select category, count(*) as n from season_later group by category)

select
    season_earlier.category as source,
    season_later.category as target,
    count(*) / season_earlier_buyers.n
    / (season_later_buyers.n / (select n from season_customers)) as lift
from season_earlier
inner join season_later
    on season_earlier.customer_key = season_later.customer_key
    and season_earlier.category <> season_later.category
inner join season_earlier_buyers on season_earlier.category = season_earlier_buyers.category
inner join season_later_buyers on season_later.category = season_later_buyers.category
group by
    season_earlier.category, season_later.category,
    season_earlier_buyers.n, season_later_buyers.n
having count(*) >= 5""",
}

# The features of the customers in scope as of a cutoff, from the category statistics of
# that cutoff and their own purchases on or before it ($cutoff); `{label}` alone reads
# the window after it.
_FEATURES_SQL = f"""
with history as (
    select * from interest_history
    where customer_key in (select customer_key from {SCOPE})
),

customers as (
    select
        customer_key,
        count(distinct order_id) as orders,
        sum(amount) as spend,
        count(distinct category) as categories,
        max(day) as last_day,
        greatest($cutoff - min(day), 30) as days_seen
    from history
    group by customer_key
),

own as (
    select
        customer_key,
        category,
        count(distinct order_id) as orders,
        count(distinct order_id) filter (where day > $cutoff - 90) as orders_90d,
        $cutoff - max(day) as days_since,
        sum(amount) as spend
    from history
    group by customer_key, category
),

later as (
    select distinct customer_key, category from history where day > $cutoff - $horizon
),

own_top as (
    select * from (
        select
            customer_key,
            category,
            row_number() over (
                partition by customer_key order by orders desc, days_since, category
            ) as rank
        from own
    )
    where rank <= {OWN_TOP}
),

associated as (
    select
        own_top.customer_key,
        associations.target as category,
        max(associations.lift) as lift,
        -- of equal lifts, the first category by name: the same every run
        first(own_top.category order by associations.lift desc, own_top.category) as lift_source,
        sum(associations.probability) as probability
    from own_top
    inner join interest_associations as associations on own_top.category = associations.source
    group by own_top.customer_key, associations.target
),

sequenced as (
    select
        later.customer_key,
        sequences.target as category,
        max(sequences.lift) as lift,
        first(later.category order by sequences.lift desc, later.category) as lift_source
    from later
    inner join interest_sequences as sequences on later.category = sequences.source
    group by later.customer_key, sequences.target
),

seasonal as (
    select
        later.customer_key,
        seasonal_sequences.target as category,
        max(seasonal_sequences.lift) as lift,
        first(later.category order by seasonal_sequences.lift desc, later.category) as lift_source
    from later
    inner join interest_seasonal_sequences as seasonal_sequences
        on later.category = seasonal_sequences.source
    group by later.customer_key, seasonal_sequences.target
),

seasonal_top as (
    select customer_key, category from (
        select
            customer_key,
            category,
            row_number() over (partition by customer_key order by lift desc, category) as rank
        from seasonal
        where lift > 1
    )
    where rank <= {ASSOCIATED}
),

popular_new as (
    select customer_key, category from (
        select
            customers.customer_key,
            popularity.category,
            row_number() over (
                partition by customers.customer_key
                order by popularity.buyers desc, popularity.category
            ) as rank
        from customers
        cross join (
            select * from interest_popularity order by buyers desc, category limit 100
        ) as popularity
        where not exists (
            select 1 from own
            where own.customer_key = customers.customer_key
                and own.category = popularity.category
        )
    )
    where rank <= {POPULAR_NEW}
),

associated_top as (
    select customer_key, category from (
        select
            customer_key,
            category,
            row_number() over (
                partition by customer_key order by probability desc, category
            ) as rank
        from associated
    )
    where rank <= {ASSOCIATED}
),

candidates as (
    select customer_key, category from own
    union
    select customer_key, category from popular_new
    union
    select customer_key, category from associated_top
    union
    select customer_key, category from seasonal_top
)

select
    candidates.customer_key,
    candidates.category,
    own.customer_key is null as is_new,
    own.customer_key is null as is_new_to_customer,
    coalesce(own.orders, 0) * 30.0 / customers.days_seen as category_orders_per_month,
    coalesce(own.orders_90d, 0) as category_orders_90d,
    coalesce(own.days_since, {LOOKBACK_DAYS}) as days_since_category,
    coalesce(own.orders, 0) / customers.orders as category_order_share,
    coalesce(own.spend, 0) / nullif(customers.spend, 0) as category_spend_share,
    customers.orders * 30.0 / customers.days_seen as orders_per_month,
    customers.spend * 30.0 / customers.days_seen as spend_per_month,
    customers.categories / customers.orders as categories_per_order,
    $cutoff - customers.last_day as days_since_order,
    coalesce(popularity.buyers, 0) / (select recent_customers from interest_counts)
        as popularity_90d,
    popularity.buyers_30d / nullif(popularity.buyers, 0) as popularity_trend,
    coalesce(associated.lift, 0) as association_lift,
    coalesce(associated.probability, 0) as association_probability,
    coalesce(sequenced.lift, 0) as sequence_lift,
    coalesce(seasonal.lift, 0) as seasonal_lift,
    month($cutoff) as month,
    associated.lift_source as association_source,
    sequenced.lift_source as sequence_source,
    seasonal.lift_source as seasonal_source
    {{label}}
from candidates
inner join customers on candidates.customer_key = customers.customer_key
left join own
    on candidates.customer_key = own.customer_key and candidates.category = own.category
left join interest_popularity as popularity on candidates.category = popularity.category
left join associated
    on candidates.customer_key = associated.customer_key
    and candidates.category = associated.category
left join sequenced
    on candidates.customer_key = sequenced.customer_key
    and candidates.category = sequenced.category
left join seasonal
    on candidates.customer_key = seasonal.customer_key
    and candidates.category = seasonal.category
order by candidates.customer_key, candidates.category
"""
