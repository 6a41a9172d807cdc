"""`tagwise generate`: a deterministic synthetic retailer in the landing layout of SPEC 2.

Customers are drawn in chunks of CHUNK_SIZE; each chunk's customer-level draws and each
(chunk, month) of activity have their own random stream, so the same arguments give
byte-identical files and a later `--end` reproduces every earlier row. `--since` writes
only rows dated on or after a day, which is how the next-day increment of a running
world is produced.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tagwise.contract import DEFAULT_END, DEFAULT_START, FORMATS, SOURCES, SOURCES_BY_NAME
from tagwise.generator import (
    activity,
    dirty,
    habits,
    identities,
    interests,
    launch,
    lift,
    population,
)
from tagwise.generator.population import DAY, NEVER, Window

CHUNK_SIZE = 100_000


@dataclass(frozen=True)
class GenerateConfig:
    customers: int
    seed: int
    out: Path
    start: date = DEFAULT_START
    end: date = DEFAULT_END
    dirty_rate: float = 0.0
    fmt: str = "csv"
    since: date | None = None
    # Probability of the extra order planted after the lift campaign (generator/lift.py).
    planted_lift: float = 0.0
    # Share of customers a year who buy sports-fitness in spring, then (most of them)
    # outdoor-camping in summer (generator/interests.py).
    planted_sequence: float = 0.0
    # Share of customers with each of two planted habits: ordering through the app late at
    # night, and buying home-kitchen then food-coffee within days (generator/habits.py).
    planted_habits: float = 0.0
    # Share of customers with a second record, and half of it with junk identifiers
    # shared by many (generator/identities.py).
    planted_identity: float = 0.0
    # Share of the eco-conscious who buy the launch product in its first weeks, and a
    # twentieth of it of everyone else (generator/launch.py).
    planted_launch: float = 0.0

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("--customers must be at least 1")
        if self.end < self.start:
            raise ValueError(f"--end {self.end} is before --start {self.start}")
        if self.since is not None and not self.start <= self.since <= self.end:
            raise ValueError(f"--since {self.since} must lie between --start and --end")
        if not 0 <= self.dirty_rate < 1:
            raise ValueError("--dirty-rate must be in [0, 1)")
        if not 0 <= self.planted_lift <= 1:
            raise ValueError("--plant-lift must be in [0, 1]")
        if not 0 <= self.planted_sequence <= 1:
            raise ValueError("--plant-sequence must be in [0, 1]")
        if not 0 <= self.planted_habits <= 1:
            raise ValueError("--plant-habits must be in [0, 1]")
        if not 0 <= self.planted_identity <= 1:
            raise ValueError("--plant-identity must be in [0, 1]")
        if not 0 <= self.planted_launch <= 1:
            raise ValueError("--plant-launch must be in [0, 1]")
        if self.fmt not in FORMATS:
            raise ValueError(f"--format must be one of {', '.join(FORMATS)}")

    @property
    def window(self) -> Window:
        since = -NEVER if self.since is None else _seconds(self.since)
        return Window(start=_seconds(self.start), end=_seconds(self.end) + DAY, since=since)

    def path(self, source: str, part: int) -> Path:
        first = self.since or self.start
        name = f"{source}_{first:%Y%m%d}_{self.end:%Y%m%d}_part{part:03d}.{self.fmt}"
        return self.out / source / name


def _seconds(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


class _Writers:
    """One open file per source for one chunk; batches are appended as months are built."""

    def __init__(self, config: GenerateConfig, part: int):
        self.config = config
        self.part = part
        self.rng = np.random.default_rng((config.seed, 9, part))
        self.open: dict[str, pacsv.CSVWriter | pq.ParquetWriter] = {}
        self.schemas: dict[str, pa.Schema] = {}
        self.rows: dict[str, int] = {}

    def write(self, source: str, rows: pa.Table) -> None:
        if self.config.dirty_rate > 0:
            rows = dirty.inject(SOURCES_BY_NAME[source], rows, self.config.dirty_rate, self.rng)
        writer = self.open.get(source)
        if writer is None:
            path = self.config.path(source, self.part)
            path.parent.mkdir(parents=True, exist_ok=True)
            if self.config.fmt == "csv":
                writer = pacsv.CSVWriter(path, rows.schema)
            else:
                writer = pq.ParquetWriter(path, rows.schema, compression="zstd")
            self.open[source] = writer
            self.schemas[source] = rows.schema
        writer.write_table(rows.cast(self.schemas[source]))
        self.rows[source] = self.rows.get(source, 0) + len(rows)

    def close(self) -> None:
        for writer in self.open.values():
            writer.close()


def _months(config: GenerateConfig) -> range:
    first = config.since or config.start
    return range(activity.month_index(first), activity.month_index(config.end) + 1)


PERSON_SOURCES: dict[str, Callable[[population.Population, Window], pa.Table]] = {
    "customers": population.customers,
    "consent_events": population.consent_events,
    "privacy_requests": population.privacy_requests,
    "survey_responses": population.survey_responses,
    "manual_tags": population.manual_tags,
}


def _generate_chunk(config: GenerateConfig, chunk: int) -> dict[str, int]:
    """Every source's part file for customers [chunk * CHUNK_SIZE, ...)."""
    window = config.window
    offset = chunk * CHUNK_SIZE
    size = min(CHUNK_SIZE, config.customers - offset)
    writers = _Writers(config, chunk)
    try:
        if chunk == 0:
            if config.since is None:
                products = activity.products(config.seed)
                if config.planted_launch:
                    products = launch.product_row(products)
                writers.write("products", products)
            writers.write(
                "email_campaigns", activity.email_campaigns(window, config.planted_lift > 0)
            )
        prices = activity.product_prices(config.seed)
        if config.planted_launch:
            prices = np.append(prices, launch.PRICE_CENTS)
        pop = population.draw_population(config.seed, chunk, size, offset, window)
        planted = (
            lift.plant(pop, window, chunk, config.planted_lift) if config.planted_lift else None
        )
        sequence = (
            interests.plant(pop, window, chunk, config.planted_sequence)
            if config.planted_sequence
            else None
        )
        launched = (
            launch.plant(pop, window, chunk, config.planted_launch)
            if config.planted_launch
            else None
        )
        night_owls = routine = None
        if config.planted_habits:
            night_owls = habits.night_owls(pop, chunk, config.planted_habits)
            routine = habits.routine(pop, window, chunk, config.planted_habits, night_owls)
        for source, build in PERSON_SOURCES.items():
            rows = build(pop, window)
            if source == "customers" and config.planted_identity:
                rows = identities.plant(rows, config.seed, chunk, config.planted_identity, window)
            writers.write(source, rows)
        for month in _months(config):
            built = activity.MonthActivity(
                pop, window, month, chunk, prices, planted, sequence, night_owls, routine, launched
            ).build()
            for source, rows in built.items():
                writers.write(source, rows)
    finally:
        writers.close()
    return writers.rows


def generate(
    config: GenerateConfig,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> dict[str, int]:
    """Write every source of SPEC 2 under config.out; returns rows written per source."""
    chunks = range(-(-config.customers // CHUNK_SIZE))
    workers = min(workers or os.cpu_count() or 1, len(chunks))
    totals: dict[str, int] = {}

    def add(rows: dict[str, int], done: int) -> None:
        for source, count in rows.items():
            totals[source] = totals.get(source, 0) + count
        if progress:
            progress(
                f"{min(done * CHUNK_SIZE, config.customers):,} of {config.customers:,} customers"
            )

    if workers == 1:
        for done, chunk in enumerate(chunks, 1):
            add(_generate_chunk(config, chunk), done)
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_generate_chunk, config, chunk) for chunk in chunks]
            for done, future in enumerate(as_completed(futures), 1):
                add(future.result(), done)
    return {s.name: totals[s.name] for s in SOURCES if s.name in totals}
