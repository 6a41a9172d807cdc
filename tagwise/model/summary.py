"""Per-customer calibration summaries (x, t_x, T, m) from transactions, in SQL.

Purchases on the same day are one transaction. Times are in weeks (days / 7) from the
customer's first transaction; T runs to the calibration end date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np

SUMMARY_SQL = """
with daily as (
    select customer_key, purchase_day, sum(amount) as amount
    from {transactions}
    where purchase_day <= $end_day
    group by customer_key, purchase_day
)

-- m leaves out the first day's amount (arg_min): a window numbering the days took 0.8 of
-- the summary's 2.75 s at a million customers.
select
    customer_key,
    count(*) - 1 as x,
    date_diff('day', min(purchase_day), max(purchase_day)) / 7.0 as t_x,
    date_diff('day', min(purchase_day), $end_day::date) / 7.0 as T,
    coalesce((sum(amount) - arg_min(amount, purchase_day)) / nullif(count(*) - 1, 0), 0) as m
from daily
group by customer_key
order by customer_key
"""


@dataclass(frozen=True)
class Summary:
    customer_key: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_key)


def summarize(con: duckdb.DuckDBPyConnection, transactions: str, end: date) -> Summary:
    """`transactions` names a relation with customer_key, purchase_day (date), amount."""
    rows = con.execute(SUMMARY_SQL.format(transactions=transactions), {"end_day": end}).fetchnumpy()
    return Summary(
        customer_key=np.asarray(rows["customer_key"], dtype=object),
        x=np.asarray(rows["x"], dtype=float),
        t_x=np.asarray(rows["t_x"], dtype=float),
        T=np.asarray(rows["T"], dtype=float),
        m=np.asarray(rows["m"], dtype=float),
    )
