"""Shared fixtures: small generated landing sets and a helper to craft landing files."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

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


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"
