"""Phones become destination keys only as valid international numbers, checked once per
text by ingestion with the phonenumbers library (issue 40, item 19)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from tagwise.generator.population import _phone_as_typed
from tagwise.ingest import ingest
from tagwise.ingest.phones import NOT_A_NUMBER, NOT_INTERNATIONAL, NOT_VALID, e164

LONDON = "+442079460028"


@pytest.mark.parametrize(
    "typed",
    ["+44 (0)20 7946 0028", "+4402079460028", "0044 20 7946 0028", "+44 20 7946 0028", LONDON],
)
def test_each_writing_of_one_handset_is_one_number(typed):
    """`+44 (0)20 7946 0028` was normalised to +4402079460028, so the same handset written
    two ways was not seen as shared and both customers got sms adds."""
    assert e164(typed) == (LONDON, None)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        # Well formed, but no country has the 555 area code.
        ("+15551234567", NOT_VALID),
        ("+1 555 123 4567", NOT_VALID),
        ("+44 20 7946", NOT_VALID),  # too short for a London number
        ("+999 1234 5678", NOT_A_NUMBER),  # no such country code
        ("not a phone", NOT_INTERNATIONAL),
        ("020 7946 0028", NOT_INTERNATIONAL),  # no country is guessed
        ("+", NOT_A_NUMBER),
    ],
)
def test_a_number_the_library_finds_invalid_is_refused_with_why(typed, problem):
    assert e164(typed) == (None, problem)


def test_the_generator_writes_valid_numbers_but_the_ones_without_a_country_code():
    draws = np.random.default_rng(0).integers(1_000_000, 9_999_999, 2_000)
    checked = [(int(n) % 10, e164(_phone_as_typed(int(n)))) for n in draws]
    assert all(problem is None for form, (_, problem) in checked if form != 9)
    assert all(problem == NOT_INTERNATIONAL for form, (_, problem) in checked if form == 9)


def test_ingestion_checks_each_new_phone_text_once(landing, warehouse):
    landing.minimal()
    landing.write(
        "customers",
        "phones.csv",
        "customer_id,email,phone,signup_at,updated_at\n"
        "P1,p1@x.test,+44 (0)20 7946 0028,2026-01-01,2026-01-01\n"
        "P2,p2@x.test,+442079460028,2026-01-01,2026-01-01\n"
        "P3,p3@x.test,+15551234567,2026-01-01,2026-01-01\n"
        "P4,p4@x.test,+44 (0)20 7946 0028,2026-01-01,2026-02-01\n",
    )
    ingest(landing.root, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        checked = con.execute(
            "select phone, e164, problem from raw.phone_numbers "
            "where phone in ('+44 (0)20 7946 0028', '+442079460028', '+15551234567') order by 1"
        ).fetchall()
        first = con.execute("select count(*), max(checked_at) from raw.phone_numbers").fetchone()
    assert checked == [
        ("+15551234567", None, NOT_VALID),
        ("+44 (0)20 7946 0028", LONDON, None),
        ("+442079460028", LONDON, None),
    ]
    landing.write(
        "customers",
        "later.csv",
        "customer_id,email,phone,signup_at,updated_at\nP5,p5@x.test,+442079460028,2026-01-01,2026-03-01\n"
        "P6,p6@x.test,+1 202 555 0143,2026-01-01,2026-03-01\n",
    )
    ingest(landing.root, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        again = con.execute(
            "select count(*), count(*) filter (where checked_at > ?) from raw.phone_numbers",
            [first[1]],
        ).fetchone()
    assert again == (first[0] + 1, 1)  # only +1 202 555 0143 was new
