"""Every row the contract accepts can be built: no amount overflows, no order's revenue
goes below 0 (SPEC 3.2), so no accepted row can stop every later release; what cannot be
represented is quarantined with its reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
from tagwise.orchestration.run import build_as_of

from tagwise.ingest import ingest

D = date(2026, 6, 30)
MAX_PRICE = "9999999999999999.99"  # the largest amount raw.order_lines can hold


def test_accepted_extreme_rows_build_and_refused_ones_are_quarantined(landing, warehouse):
    customers = ["H1", "H2", "V1", "V2", "Z1"]
    landing.write(
        "customers",
        "c.csv",
        "customer_id,email,signup_at,updated_at\n"
        + "\n".join(f"{c},{c.lower()}@x.test,2025-01-01,2025-01-01" for c in customers),
    )
    orders = [
        ("OH1", "H1", "0"),  # one line at the largest price times a large quantity
        ("OH2", "H2", "0"),  # twelve such lines in one order, and a second order
        ("OH3", "H2", "0"),
        ("OV1", "V1", "500.00"),  # a voucher larger than the order
        ("OV2", "V2", "20.00"),  # a voucher exactly the order's amount, with eco lines
        ("OZ1", "Z1", "0"),
    ]
    landing.write(
        "orders",
        "o.csv",
        "order_id,customer_id,ordered_at,status,discount_amount\n"
        + "\n".join(f"{o},{c},2026-06-01,completed,{d}" for o, c, d in orders),
    )
    lines = [("OH1", 1, "P1", "1000000000", MAX_PRICE)]
    lines += [("OH2", n, "P1", "1000000000", MAX_PRICE) for n in range(1, 13)]
    lines += [("OH3", 1, "P2", "1000000000", MAX_PRICE)]
    lines += [("OV1", 1, "P2", "1", "10.00"), ("OV1", 2, "P1", "2", "5.00")]
    lines += [("OV2", 1, "P2", "2", "10.00")]
    lines += [("OZ1", 1, "P1", "1", "1.00"), ("OZ1", 2, "P1", "1000000001", "1.00")]
    landing.write(
        "order_lines",
        "l.csv",
        "order_id,line_no,product_id,quantity,unit_price\n"
        + "\n".join(",".join(map(str, line)) for line in lines),
    )
    landing.write(
        "products",
        "p.csv",
        "product_id,name,category,price_tier,is_eco\nP1,One,books,premium,false\nP2,Two,garden,budget,true",
    )
    ingest(landing.root, warehouse)
    report = build_as_of(warehouse, D)
    assert report.success, report.errors  # every dbt test passes
    # The two warnings: five customers are too few for either model to fit, and the run
    # says why the interests model's tags are withheld.
    assert (report.dbt_tests["failed"], report.dbt_tests["warned"]) == (0, 2)
    assert sorted(report.dbt_warnings) == ["interests_model_is_usable", "model_fit_is_usable"]
    assert report.models["propensity_quality"]["note"].startswith(
        "withheld: nothing measured as of 2026-04-01: "
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (unusable,) = con.execute(
            "select unusable_because from intermediate.int_model__fit_status"
        ).fetchone()
        assert unusable.startswith("nothing fitted as of D: 0 customers with a repeat purchase")
        quarantined = con.execute(
            "select reason from raw.quarantine where source = 'order_lines'"
        ).fetchall()
        features = {
            customer: values
            for customer, *values in con.execute(
                "select d.source_customer_ids, f.revenue_lifetime, f.eco_share_365d, "
                "f.premium_share_365d, f.avg_order_value "
                "from marts.customer_features f join marts.dim_customers d using (customer_key)"
            ).fetchall()
        }
    assert quarantined == [("quantity '1000000001' must be at most 1000000000",)]
    big = Decimal(MAX_PRICE) * 1_000_000_000
    assert features["H1"][0] == big
    assert features["H2"][0] == big * 13
    assert features["V1"][0] == 0 and features["V1"][1] is None  # free, not negative
    assert features["V2"][0] == 0
    assert features["Z1"][0] == Decimal("1.00")
    for revenue, *shares in features.values():
        assert revenue >= 0
        assert all(s is None or 0 <= s <= 1 for s in shares[:2])
