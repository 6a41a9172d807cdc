"""People who signed up twice, and junk identifiers, for identity resolution to work on
(SPEC 3.1): `tagwise generate --plant-identity P`.

A share P of customers get a second customer record some days after their first, with a
new id (`<id>-2`) and no activity of its own, in one of three ways:

- **typo**: the same email, a typo in the first name: the shipped email rule merges them;
- **new email**: another email, the same phone, last name and birth date: a phone rule
  or the probabilistic rule merges them, the email rule does not;
- **no email**: no email, the same phone, a typo in the last name: only the
  probabilistic rule (or a phone rule) finds them.

And a share P / 2 of all records each carry one of two junk values shared by many: the
email test@test.com (the shipped blocklist) and a shop's phone, +12025550100, that
cashiers type for customers who give none (past the limit of 5 records a value may link).
The planted ids say who is who: `<id>-2` is `<id>`'s second record.

Draws come from the chunk's own stream, so every other row is the same with or without
the plant (but the junk values replace those records' own).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.generator.population import Window

JUNK_EMAIL = "test@test.com"
SHOP_PHONE = "+12025550100"
SECOND_RECORD_SUFFIX = "-2"
KINDS = ("typo", "new email", "no email")
KIND_P = (0.4, 0.3, 0.3)
SECOND_SIGNUP_DAYS = (1, 300)


def _typo(text: str | None, roll: float) -> str | None:
    """Two neighbouring letters swapped, at a place the roll picks."""
    if not text or len(text) < 3:
        return text
    at = 1 + int(roll * (len(text) - 2))
    return text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]


def plant(
    customers: pa.Table, seed: int, chunk: int, probability: float, window: Window
) -> pa.Table:
    """`customers` (first versions and later ones) with the junk values and the second
    records added."""
    rng = np.random.default_rng((seed, 17, chunk))
    n = customers.num_rows
    junk = rng.random(n)
    emails = customers["email"].to_pylist()
    phones = customers["phone"].to_pylist()
    for at in np.flatnonzero(junk < probability / 4):
        emails[at] = JUNK_EMAIL
    for at in np.flatnonzero((junk >= probability / 4) & (junk < probability / 2)):
        phones[at] = SHOP_PHONE
    customers = customers.set_column(
        customers.schema.get_field_index("email"), "email", pa.array(emails, pa.string())
    )
    customers = customers.set_column(
        customers.schema.get_field_index("phone"), "phone", pa.array(phones, pa.string())
    )
    # Second records of first versions only (a customer's id appears once among them).
    firsts = customers.filter(pc.equal(customers["signup_at"], customers["updated_at"]))
    chosen = np.flatnonzero(rng.random(firsts.num_rows) < probability)
    if not len(chosen):
        return customers
    kinds = rng.choice(len(KINDS), size=len(chosen), p=KIND_P)
    rolls = rng.random((len(chosen), 2))
    days = rng.integers(*SECOND_SIGNUP_DAYS, size=len(chosen))
    rows = firsts.take(pa.array(chosen)).to_pylist()
    seconds = []
    for row, kind, roll, after in zip(rows, kinds, rolls, days, strict=True):
        signup = row["signup_at"] + timedelta(days=int(after))
        row = dict(row, customer_id=row["customer_id"] + SECOND_RECORD_SUFFIX)
        row["signup_at"] = row["updated_at"] = signup
        if KINDS[kind] == "typo":
            row["first_name"] = _typo(row["first_name"], roll[0])
        elif KINDS[kind] == "new email":
            local = (row["email"] or f"{row['first_name']}.{row['last_name']}").split("@")[0]
            row["email"] = f"{local}.{int(roll[1] * 1000)}@new-mail.test".lower()
        else:
            row["email"] = None
            row["last_name"] = _typo(row["last_name"], roll[0])
        if window.keep(np.array([int(signup.timestamp())]))[0]:
            seconds.append(row)
    if not seconds:
        return customers
    return pa.concat_tables([customers, pa.Table.from_pylist(seconds, schema=customers.schema)])
