"""Shared fixtures: small generated landing sets and a helper to craft landing files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from tagwise.cli import main
from tagwise.generator import GenerateConfig, generate

SMALL = 1_500


@pytest.fixture(scope="session")
def clean_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "landing"
    generate(GenerateConfig(customers=SMALL, seed=11, out=out), workers=1)
    return out


@pytest.fixture(scope="session")
def dirty_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dirty") / "landing"
    generate(GenerateConfig(customers=SMALL, seed=11, out=out, dirty_rate=0.02), workers=1)
    return out


class Landing:
    """A landing directory written file by file, for crafted-input tests."""

    HEADERS: ClassVar[dict[str, str]] = {
        "customers": "customer_id,email,signup_at,updated_at",
        "orders": "order_id,customer_id,ordered_at,status,channel,discount_amount",
        "order_lines": "order_id,line_no,product_id,quantity,unit_price",
    }

    def __init__(self, root: Path):
        self.root = root

    def write(self, source: str, name: str, text: str | bytes) -> Path:
        path = self.root / source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text.strip() + "\n", encoding="utf-8")
        return path

    def minimal(self) -> Landing:
        """The three required sources with one valid row each."""
        self.write(
            "customers", "c.csv", self.HEADERS["customers"] + "\nC1,a@x.test,2025-01-01,2025-01-01"
        )
        self.write(
            "orders",
            "o.csv",
            self.HEADERS["orders"] + "\nO1,C1,2025-02-01T10:00:00Z,completed,web,",
        )
        self.write("order_lines", "l.csv", self.HEADERS["order_lines"] + "\nO1,1,P1,2,9.99")
        return self

    def buyers_who_consented(self, customer_ids: list[str]) -> Landing:
        """One completed order each and granted email marketing consent: customers the
        email destination selects (their customer rows are the caller's)."""
        self.write(
            "orders",
            "o.csv",
            "order_id,customer_id,ordered_at,status\n"
            + "\n".join(f"O{c},{c},2026-04-01,completed" for c in customer_ids),
        )
        self.write(
            "order_lines",
            "l.csv",
            self.HEADERS["order_lines"] + "\n" + "\n".join(f"O{c},1,P1,1,5" for c in customer_ids),
        )
        self.write(
            "consent_events",
            "k.csv",
            "event_id,customer_id,email,channel,purpose,status,method,occurred_at\n"
            + "\n".join(f"K{c},{c},,email,marketing,granted,form,2026-01-01" for c in customer_ids),
        )
        return self


def run_cli(landing: Path, warehouse: Path, exports: Path, day: date):
    """`tagwise run` as of a day, in this process; the click result."""
    return CliRunner().invoke(
        main,
        ["run", "--landing", str(landing), "--warehouse", str(warehouse),
         "--exports", str(exports), "--as-of", day.isoformat()],
    )  # fmt: skip


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"
