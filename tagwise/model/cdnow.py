"""The CDNOW transaction log: the real CD retailer data of Fader, Hardie & Lee (2005).

Whitespace-separated columns: customer id (master file), customer id (sample), date
YYYYMMDD, number of CDs, dollar value.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

CALIBRATION_END = "1997-09-30"


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
