"""Who is held out of a segment (SPEC 3.8), computed in Python the way dbt computes it.

dbt's `is_held_out` macro (dbt_project/macros/segments.sql) decides who is held out in
the warehouse; this is the same draw for code that runs outside it: the generator, which
plants a lift among the members who are not held out, and tests that check the two agree.
"""

from __future__ import annotations

import hashlib


def customer_key(customer_id: str) -> str:
    """The key of a customer who is their own identity anchor (int_identity__clusters)."""
    return hashlib.md5(customer_id.encode()).hexdigest()


def holdout_draw(key: str, salt: str) -> float:
    """A number in [0, 1) from the first 32 bits of md5(salt:key), as md5_fraction."""
    return int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / 2**32


def is_held_out(key: str, salt: str, share: float) -> bool:
    return holdout_draw(key, salt) < share
