"""The Complete Journey's mapping (SPEC 7) on a few crafted rows of the package's layout:
a basket with a coupon, a line of quantity 0, a product missing from the product file, a
household without demographics. The whole data set runs in test_completejourney_e2e."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tagwise.cli import main
from tagwise.completejourney import FILES, CompleteJourneyError, import_completejourney
from tagwise.ingest import ingest

LOADED = datetime(2018, 1, 2, tzinfo=UTC)
# Each file as the package lays it out: (column type, ...) and its rows.
CRAFTED = {
    "transactions": (
        "household_id bigint, store_id bigint, basket_id bigint, product_id bigint, "
        "quantity bigint, sales_value double, retail_disc double, coupon_disc double, "
        "coupon_match_disc double, week bigint, transaction_timestamp timestamp",
        [
            # Household 1, basket 100: two lines, a coupon on the second.
            (1, 7, 100, 11, 2, 5.0, 1.0, 0.0, 0.0, 1, "2017-01-03 10:00:00"),
            (1, 7, 100, 12, 1, 2.49, 0.0, 1.0, 0.5, 1, "2017-01-03 10:00:05"),
            # Household 1, basket 101: a line of quantity 0 beside a product the product
            # file does not have.
            (1, 7, 101, 11, 0, 3.0, 0.0, 0.0, 0.0, 2, "2017-01-09 09:00:00"),
            (1, 7, 101, 99, 3, 1.0, 0.0, 0.0, 0.0, 2, "2017-01-09 09:00:00"),
            # Household 2, basket 200: fuel, sold by the thousandth of a gallon.
            (2, 8, 200, 13, 89638, 30.0, 0.0, 0.0, 0.0, 3, "2017-01-15 18:30:00"),
        ],
    ),
    "products": (
        "product_id bigint, manufacturer_id bigint, department varchar, brand varchar, "
        "product_category varchar, product_type varchar, package_size varchar",
        [
            (11, 1, "GROCERY", "National", "SOFT DRINKS", "SOFT DRINKS 12/18&15PK CAN", "12 OZ"),
            (12, 1, "PRODUCE", "Private", "ORGANICS FRUIT & VEGETABLES", "ORGANIC CARROTS", None),
            (13, 2, "FUEL", "Private", "COUPON/MISC ITEMS", "GASOLINE-REG UNLEADED", None),
            (14, 3, "MISCELLANEOUS", "National", None, None, None),
        ],
    ),
    "demographics": (
        "household_id bigint, age varchar, income varchar, home_ownership varchar, "
        "marital_status varchar, household_size varchar, household_comp varchar, "
        "kids_count varchar",
        [(1, "35-44", "50-74K", None, "Married", "2", "2 Adults No Kids", "0")],
    ),
    "campaigns": (
        "campaign_id bigint, household_id bigint",
        [(5, 1), (5, 2), (5, 3)],
    ),
    "campaign_descriptions": (
        "campaign_id bigint, campaign_type varchar, start_date timestamp, end_date timestamp",
        [(5, "Type A", "2017-01-02", "2017-02-02")],
    ),
    "coupon_redemptions": (
        "household_id bigint, coupon_upc bigint, campaign_id bigint, redemption_date timestamp",
        [(1, 5550001, 5, "2017-01-03")],
    ),
    "coupons": (
        "coupon_upc bigint, product_id bigint, campaign_id bigint",
        [(5550001, 12, 5)],
    ),
    "promotions": (
        "product_id bigint, store_id bigint, display_location varchar, "
        "mailer_location varchar, week bigint",
        [(11, 7, "0", "A", 1), (12, 7, "1", "0", 1)],
    ),
}


def write_package(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for name, (columns, rows) in CRAFTED.items():
            con.execute(f"create table {name} ({columns})")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into {name} values ({marks})", rows)
            con.execute(f"copy {name} to '{folder / name}.parquet' (format parquet)")
    return folder


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The crafted package imported and ingested: (import result, warehouse)."""
    root = tmp_path_factory.mktemp("completejourney")
    result = import_completejourney(write_package(root / "package"), root / "landing")
    warehouse = root / "warehouse.duckdb"
    ingest(root / "landing", warehouse, loaded_at=LOADED)
    return result, warehouse


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_each_household_is_a_customer_signed_up_at_its_first_transaction(imported):
    _, warehouse = imported
    assert query(warehouse, "select customer_id, signup_at from raw.customers order by 1") == [
        ("1", datetime(2017, 1, 3, 10, 0)),
        ("2", datetime(2017, 1, 15, 18, 30)),
    ]
    assert query(warehouse, "select count(*) from raw.customers where email is not null") == [(0,)]


def test_a_basket_is_a_completed_store_order_with_its_kept_lines_discounts(imported):
    _, warehouse = imported
    assert query(
        warehouse,
        "select order_id, customer_id, ordered_at, status, channel, discount_amount "
        "from raw.orders order by 1",
    ) == [
        ("100", "1", datetime(2017, 1, 3, 10, 0), "completed", "store", Decimal("2.50")),
        ("101", "1", datetime(2017, 1, 9, 9, 0), "completed", "store", Decimal("0.00")),
        ("200", "2", datetime(2017, 1, 15, 18, 30), "completed", "store", Decimal("0.00")),
    ]


def test_a_baskets_revenue_is_the_sum_of_its_sales_value(imported):
    """(sum of quantity x unit price) - discount = sum of sales_value, to the cent: 5.00 +
    2.49; 1.00 (the line of quantity 0 aside); 30.00 of fuel at 89,638 units."""
    _, warehouse = imported
    revenue = query(
        warehouse,
        """
        select o.order_id, sum(cast(l.quantity * l.unit_price as decimal(38, 2)))
            - o.discount_amount
        from raw.orders as o inner join raw.order_lines as l using (order_id)
        group by o.order_id, o.discount_amount order by 1""",
    )
    assert revenue == [
        ("100", Decimal("7.49")),
        ("101", Decimal("1.00")),
        ("200", Decimal("30.00")),
    ]


def test_a_line_of_quantity_zero_is_quarantined_with_its_reason(imported):
    _, warehouse = imported
    [(reason, cells)] = query(
        warehouse, "select reason, original from raw.quarantine where source = 'order_lines'"
    )
    assert reason == "quantity '0' must be greater than 0"
    assert '"order_id":"101"' in cells.replace(" ", "")


def test_a_product_missing_from_the_product_file_keeps_its_id_without_a_category(imported):
    _, warehouse = imported
    assert query(
        warehouse,
        "select l.product_id, p.category from raw.order_lines as l "
        "left join raw.products as p using (product_id) where l.order_id = '101'",
    ) == [("99", None)]


def test_products_take_their_category_tier_and_organic_flag(imported):
    _, warehouse = imported
    assert query(
        warehouse, "select product_id, category, price_tier, is_eco from raw.products order by 1"
    ) == [
        ("11", "SOFT DRINKS", "mid", False),
        ("12", "ORGANICS FRUIT & VEGETABLES", "mid", True),
        ("13", "COUPON/MISC ITEMS", "mid", False),
    ]
    [(reason,)] = query(warehouse, "select reason from raw.quarantine where source = 'products'")
    assert reason == "missing required value category"


def test_demographics_are_survey_answers_and_a_household_without_them_has_none(imported):
    _, warehouse = imported
    answers = query(
        warehouse,
        "select customer_id, question_key, answer from raw.survey_responses order by 1, 2",
    )
    assert ("1", "age", "35-44") in answers
    assert ("1", "home_ownership", None) not in answers  # unknown stays unknown
    assert len(answers) == 6
    assert not [a for a in answers if a[0] == "2"]


def test_targeting_is_a_delivery_and_a_redemption_a_click(imported):
    _, warehouse = imported
    assert query(
        warehouse,
        "select customer_id, event_type, occurred_at from raw.email_events order by 1, 2",
    ) == [
        ("1", "click", datetime(2017, 1, 3)),
        ("1", "delivered", datetime(2017, 1, 2)),
        ("2", "delivered", datetime(2017, 1, 2)),
    ]


def test_the_report_accounts_for_every_row_of_every_file(imported):
    result, _ = imported
    with result.report.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    accounted = {}
    for row in rows:
        if row["outcome"] != "folded":
            accounted[row["file"]] = accounted.get(row["file"], 0) + int(row["rows"])
    assert accounted == {f"{name}.parquet": len(CRAFTED[name][1]) for name in FILES}
    # Household 3 was targeted but never shopped: reported, not imported.
    [campaigns] = [
        r for r in rows if r["file"] == "campaigns.parquet" and r["outcome"] == "not imported"
    ]
    assert campaigns["rows"] == "1"


def test_a_folder_without_the_packages_files_is_refused_naming_them(tmp_path):
    (tmp_path / "transactions.parquet").write_bytes(b"")
    result = CliRunner().invoke(
        main, ["import-completejourney", str(tmp_path), "--out", str(tmp_path / "landing")]
    )
    assert result.exit_code == 1
    assert "missing products.parquet, demographics.parquet" in result.output
    with pytest.raises(CompleteJourneyError, match="cannot be read"):
        import_completejourney(write_broken(tmp_path / "broken"), tmp_path / "out")


def write_broken(folder: Path) -> Path:
    write_package(folder)
    (folder / "products.parquet").write_text("not parquet")
    return folder


def test_a_build_that_can_email_no_one_says_so_with_the_reasons(tmp_path):
    """Households without email (as here): the run states it instead of exporting nothing
    in silence; a destination that reaches someone gets no note."""
    from tagwise.relations import ref
    from tagwise.summary import reach_notes

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for relation in (ref("customer_email_marketability"), ref("destination_eligibility")):
            con.execute(f"create schema if not exists {relation.split('.')[0]}")
        con.execute(
            f"create table {ref('customer_email_marketability')} as select * from (values "
            "('k1', 'no valid email'), ('k2', 'no valid email'), "
            "('k3', 'no email marketing consent')) as t(customer_key, not_marketable_because)"
        )
        con.execute(
            f"create table {ref('destination_eligibility')} as select * from (values "
            "('email', 'k1', 'no valid email'), ('email', 'k3', 'no email marketing consent'), "
            "('sms', 'k2', null)) as t(destination, customer_key, not_eligible_because)"
        )
    assert reach_notes(warehouse) == [
        "no one is email-marketable: of 3 customers, no valid email 2, no email marketing "
        f"consent 1 ({ref('customer_email_marketability')} says why per customer)",
        "destination email reaches no one: of 2 customers its segments select, no email "
        "marketing consent 1, no valid email 1; its files hold no adds",
    ]
