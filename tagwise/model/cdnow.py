"""The CDNOW transaction log: the real CD retailer data of Fader, Hardie & Lee (2005).

Two whitespace-separated layouts, each with or without a header line (SPEC section 6):
the 1/10th sample (master customer id, sample customer id, date YYYYMMDD, number of CDs,
dollar value) and the master file (customer id, date, number of CDs, dollar value).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow as pa

from tagwise.errors import TagwiseError

# The end of the calibration period in Fader, Hardie & Lee (2005): week 39 of 1997.
CALIBRATION_END = date(1997, 9, 30)
# Cells per line and what they are, by layout.
LAYOUTS = {
    5: "the sample layout (customer id, sample id, date YYYYMMDD, number of CDs, dollar value)",
    4: "the master layout (customer id, date YYYYMMDD, number of CDs, dollar value)",
}


class CdnowError(TagwiseError):
    """A CDNOW file in neither layout; the message names the file, the line and why."""


def read_cdnow(path: Path) -> pa.Table:
    """customer_key, purchase_day, cds, amount of every purchase line of either layout."""
    customers, days, cds, amounts = [], [], [], []
    layout = None
    with path.open(encoding="ascii", errors="replace", newline=None) as lines:
        for number, line in enumerate(lines, 1):
            cells = line.split()
            if not cells:
                continue
            if layout is None and number == 1 and not cells[0].isdigit():
                continue  # a header line
            if layout is None and len(cells) in LAYOUTS:
                layout = len(cells)
            if len(cells) != layout:
                expected = LAYOUTS.get(layout, " or ".join(LAYOUTS.values()))
                raise CdnowError(
                    f"{path}: line {number}: expected {expected}; found {len(cells)} cell(s): "
                    f"{line.strip()[:80]!r}"
                )
            customer, day, count, value = (cells[0], *cells[-3:])
            try:
                days.append(datetime.strptime(day, "%Y%m%d").date())
                cds.append(int(count))
                amounts.append(Decimal(value).quantize(Decimal("0.01")))
            except (ValueError, InvalidOperation):
                raise CdnowError(
                    f"{path}: line {number}: expected a date YYYYMMDD, a whole number of CDs "
                    f"and a dollar value; found {day!r}, {count!r}, {value!r}"
                ) from None
            customers.append(customer)
    if layout is None:
        raise CdnowError(f"{path}: no purchase lines; expected {' or '.join(LAYOUTS.values())}")
    return pa.table(
        {
            "customer_key": pa.array(customers, pa.string()),
            "purchase_day": pa.array(days, pa.date32()),
            "cds": pa.array(cds, pa.int32()),
            "amount": pa.array(amounts, pa.decimal128(18, 2)),
        }
    )


def load_cdnow(con: duckdb.DuckDBPyConnection, path: Path, name: str = "cdnow") -> str:
    """Create temp table `name` (customer_key, purchase_day, cds, amount); returns its name."""
    con.register("cdnow_purchases", read_cdnow(path))
    con.execute(f"create or replace temp table {name} as select * from cdnow_purchases")
    con.unregister("cdnow_purchases")
    return name


def write_landing(path: Path, out: Path) -> dict[str, int]:
    """The CDNOW log as landing files: a customer per id (signed up at the first purchase),
    a completed order per purchase with one line worth its dollar value, one product."""
    statements = {
        "customers": """
            select 'CDNOW-' || customer_key as customer_id, min(purchase_day) as signup_at,
                min(purchase_day) as updated_at
            from cdnow group by customer_key order by customer_id""",
        "products": """
            select 'CD' as product_id, 'Compact disc' as name, 'music' as category,
                'mid' as price_tier, false as is_eco""",
        "orders": """
            select order_id, 'CDNOW-' || customer_key as customer_id, purchase_day as ordered_at,
                'completed' as status, 0 as discount_amount
            from numbered order by order_id""",
        "order_lines": """
            select order_id, 1 as line_no, 'CD' as product_id, 1 as quantity, amount as unit_price
            from numbered order by order_id""",
    }
    con = duckdb.connect()
    load_cdnow(con, path)
    con.execute(
        """
        create temp table numbered as
        select *, 'CDNOW-' || customer_key || '-' || strftime(purchase_day, '%Y%m%d') || '-'
            || row_number() over (partition by customer_key, purchase_day order by amount, cds) as order_id
        from cdnow
        """
    )
    written = {}
    for source, query in statements.items():
        target = out / source / f"{source}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"copy ({query}) to '{target}' (header, delimiter ',')")
        written[source] = con.execute(f"select count(*) from ({query})").fetchone()[0]
    return written
