"""The CDNOW transaction log: the real CD retailer data of Fader, Hardie & Lee (2005).

Whitespace-separated columns: customer id (master file), customer id (sample), date
YYYYMMDD, number of CDs, dollar value.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

# The end of the calibration period in Fader, Hardie & Lee (2005): week 39 of 1997.
CALIBRATION_END = date(1997, 9, 30)


def load_cdnow(con: duckdb.DuckDBPyConnection, path: Path, name: str = "cdnow") -> str:
    """Create temp table `name` (customer_key, purchase_day, cds, amount); returns its name."""
    con.execute(
        f"""
        create or replace temp table {name} as
        with lines as (
            select regexp_split_to_array(trim(line), '\\s+') as cells
            from read_csv(?, header = false, delim = '|', quote = '', auto_detect = false,
                columns = {{'line': 'varchar'}})
            where trim(line) <> ''
        )
        select
            cells[1] as customer_key,
            strptime(cells[3], '%Y%m%d')::date as purchase_day,
            cast(cells[4] as integer) as cds,
            cast(cells[5] as decimal(18, 2)) as amount
        from lines
        """,
        [str(path)],
    )
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
