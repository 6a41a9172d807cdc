"""The generator: deterministic, prefix-consistent, realistic enough to exercise every rule."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import SMALL

from tagwise.catalog import SEGMENT_CATALOG
from tagwise.contract import SOURCES
from tagwise.generator import GenerateConfig, generate, lift
from tagwise.generator.population import Window, draw_population
from tagwise.generator.vocabulary import PERSONA_NAMES


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }  # fmt: skip


def test_same_arguments_give_byte_identical_files(tmp_path, clean_landing):
    again = tmp_path / "again"
    generate(GenerateConfig(customers=1_500, seed=11, out=again), workers=1)
    assert digest(again) == digest(clean_landing)


def test_another_seed_gives_other_data(tmp_path, clean_landing):
    other = tmp_path / "other"
    generate(GenerateConfig(customers=1_500, seed=12, out=other), workers=1)
    assert (
        digest(other)["orders/orders_20240701_20260630_part000.csv"]
        != digest(clean_landing)["orders/orders_20240701_20260630_part000.csv"]
    )


def test_parallel_chunks_write_the_same_files_as_one_worker(tmp_path, monkeypatch):
    monkeypatch.setattr("tagwise.generator.CHUNK_SIZE", 400)
    one, two = tmp_path / "one", tmp_path / "two"
    generate(GenerateConfig(customers=1_000, seed=3, out=one), workers=1)
    generate(GenerateConfig(customers=1_000, seed=3, out=two), workers=2)
    assert digest(one) == digest(two)
    assert len(list((one / "orders").iterdir())) == 3


def test_every_source_is_written_with_rows(clean_landing):
    for source in SOURCES:
        files = list((clean_landing / source.name).glob("*.csv"))
        assert files, source.name
        rows = sum(pacsv.read_csv(f).num_rows for f in files)
        assert rows > 0, source.name
        header = files[0].read_text().splitlines()[0].replace('"', "").split(",")
        assert header == list(source.column_names)


def test_every_persona_occurs_in_a_small_population():
    window = GenerateConfig(customers=1, seed=1, out=Path(".")).window
    pop = draw_population(seed=7, chunk=0, size=2_000, offset=0, window=window)
    counts = np.bincount(pop.persona, minlength=len(PERSONA_NAMES))
    assert all(counts > 0), dict(zip(PERSONA_NAMES, counts, strict=True))


def test_proportions_are_realistic(clean_landing):
    """About 10 orders, 40 email events and 20-30 web events per customer over two years."""
    con = duckdb.connect()
    per_customer = {
        source: con.execute(f"select count(*) from '{clean_landing}/{source}/*.csv'").fetchone()[0]
        / 1_500
        for source in ("orders", "email_events", "web_events")
    }
    assert 7 < per_customer["orders"] < 13
    assert 30 < per_customer["email_events"] < 50
    assert 15 < per_customer["web_events"] < 35


def test_emails_are_shared_by_duplicate_customers_and_some_are_invalid(clean_landing):
    con = duckdb.connect()
    emails = con.execute(
        f"select lower(trim(email)) e, count(distinct customer_id) n from '{clean_landing}/customers/*.csv' "
        "where email is not null group by 1"
    ).fetchall()
    assert any(n > 1 for _, n in emails)
    assert any("@" not in e for e, _ in emails)


def test_manual_tags_include_synonyms_odd_spelling_and_unknown_tags(clean_landing):
    tags = set(
        pacsv.read_csv(next((clean_landing / "manual_tags").glob("*.csv")))["tag"].to_pylist()
    )
    assert {"VIP", "top customer"} & tags
    assert any(t != t.strip() or "_" in t or t != t.lower() for t in tags)
    assert {"key account", "follow up asap", "do not call"} & tags


def test_store_orders_carry_a_utc_offset(clean_landing):
    text = next((clean_landing / "orders").glob("*.csv")).read_text()
    assert "+10:00" in text or "-05:00" in text
    assert "Z" in text


def test_later_end_reproduces_every_earlier_row(tmp_path, clean_landing):
    """Prefix consistency: extending the window only adds rows."""
    short = tmp_path / "short"
    generate(GenerateConfig(customers=1_500, seed=11, out=short, end=date(2026, 3, 31)), workers=1)
    con = duckdb.connect()
    for source in ("orders", "email_events", "customers", "consent_events"):
        missing = con.execute(
            f"select count(*) from (select * from read_csv('{short}/{source}/*.csv', all_varchar=true) "
            f"except select * from read_csv('{clean_landing}/{source}/*.csv', all_varchar=true))"
        ).fetchone()[0]
        assert missing == 0, source


def test_since_writes_exactly_the_rows_of_the_later_days(tmp_path, clean_landing):
    increment = tmp_path / "increment"
    generate(
        GenerateConfig(customers=1_500, seed=11, out=increment, since=date(2026, 6, 30)), workers=1
    )
    assert not (increment / "products").exists()
    con = duckdb.connect()
    full = con.execute(
        f"select count(*) from read_csv('{clean_landing}/email_events/*.csv', all_varchar=true) "
        "where occurred_at::timestamptz >= '2026-06-30 00:00:00+00'"
    ).fetchone()[0]
    new = con.execute(
        f"select count(*) from read_csv('{increment}/email_events/*.csv', all_varchar=true)"
    ).fetchone()[0]
    assert new == full > 0


def test_parquet_format_holds_the_same_rows(tmp_path, clean_landing):
    out = tmp_path / "pq"
    generate(GenerateConfig(customers=1_500, seed=11, out=out, fmt="parquet"), workers=1)
    rows = pq.read_table(next((out / "orders").glob("*.parquet"))).num_rows
    assert rows == pacsv.read_csv(next((clean_landing / "orders").glob("*.csv"))).num_rows


def test_dirty_rate_adds_broken_rows(dirty_landing, clean_landing):
    for source in ("orders", "order_lines", "email_events"):
        dirty = pacsv.read_csv(next((dirty_landing / source).glob("*.csv"))).num_rows
        clean = pacsv.read_csv(next((clean_landing / source).glob("*.csv"))).num_rows
        assert clean < dirty < clean * 1.05


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0}, "--customers"),
        ({"end": date(2024, 1, 1)}, "before --start"),
        ({"since": date(2030, 1, 1)}, "--since"),
        ({"dirty_rate": 1.5}, "--dirty-rate"),
        ({"fmt": "xml"}, "--format"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    base = {"customers": 10, "seed": 1, "out": Path(".")}
    with pytest.raises(ValueError, match=message):
        GenerateConfig(**(base | kwargs))


def test_window_keeps_rows_in_range():
    window = Window(start=0, end=100, since=10)
    assert window.keep(np.array([5, 10, 99, 100])).tolist() == [False, True, True, False]


@pytest.mark.parametrize("customers", [1, 5])
def test_tiny_populations_still_write_every_source(tmp_path, customers):
    out = tmp_path / "tiny"
    generate(GenerateConfig(customers=customers, seed=2, out=out, dirty_rate=0.5), workers=1)
    assert {p.name for p in out.iterdir()} == {s.name for s in SOURCES}


def _catalog_audience(name: str) -> dict:
    document = yaml.safe_load(SEGMENT_CATALOG.read_text())
    audiences = [
        a for model in document["models"] for a in model["config"]["meta"].get("audiences", [])
    ]
    return next(entry for entry in audiences if entry.get("audience") == name)


def test_the_planted_lift_targets_the_shipped_catalogs_audience_and_holdout():
    entry = _catalog_audience(lift.AUDIENCE)
    assert entry["when"].startswith("country in (")
    assert set(re.findall(r"'([A-Z]{2})'", entry["when"])) == lift.COUNTRIES
    assert (entry["holdout"], entry["salt"]) == (lift.SHARE, lift.SALT)


@pytest.fixture(scope="module")
def planted_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("planted") / "landing"
    # Every treated member buys: the planted orders then belong to exactly the treated members.
    generate(GenerateConfig(customers=SMALL, seed=11, out=out, planted_lift=1.0), workers=1)
    return out


def _rows(landing: Path, source: str) -> set[tuple]:
    query = f"select * from read_csv('{landing / source}/*.csv', all_varchar = true, header = true)"
    return set(duckdb.sql(query).fetchall())


def test_a_planted_lift_adds_one_campaign_and_one_order_per_treated_member(
    planted_landing, clean_landing
):
    extra_campaigns = _rows(planted_landing, "email_campaigns") - _rows(
        clean_landing, "email_campaigns"
    )
    assert [(row[2][:10], row[3]) for row in extra_campaigns] == [
        (str(lift.CAMPAIGN_DAY), lift.AUDIENCE)
    ]
    before = _rows(clean_landing, "orders")
    after = _rows(planted_landing, "orders")
    assert before <= after
    planted = after - before
    # Treated: in the audience, not held out, a customer an hour before the send (the
    # population's own draws: the customers file blanks some countries on purpose).
    pop = draw_population(
        11, 0, SMALL, 0, GenerateConfig(customers=SMALL, seed=11, out=Path(".")).window
    )
    in_time = pop.active_from <= lift.campaign_sent_at() - 3600
    treated = {f"C{gid + 1}" for gid in pop.gid[lift.treated(pop) & in_time]}
    assert sorted(row[1] for row in planted) == sorted(treated) and treated
    window_end = str(lift.CAMPAIGN_DAY + timedelta(days=lift.WINDOW_DAYS))
    assert all(str(lift.CAMPAIGN_DAY) <= row[2][:10] <= window_end for row in planted)


def test_without_a_planted_lift_no_campaign_targets_the_audience_on_the_campaign_day(clean_landing):
    assert not [
        row
        for row in _rows(clean_landing, "email_campaigns")
        if row[3] == lift.AUDIENCE and row[2].startswith(str(lift.CAMPAIGN_DAY))
    ]


@pytest.fixture(scope="module")
def sequence_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sequence") / "landing"
    generate(GenerateConfig(customers=SMALL, seed=11, out=out, planted_sequence=0.3), workers=1)
    return out


def test_a_planted_sequence_adds_spring_trigger_and_summer_target_orders(
    sequence_landing, clean_landing
):
    """--plant-sequence adds orders and changes none: each is completed, one line of the
    trigger's product in spring or the target's in summer, and every summer buyer bought
    the trigger that spring."""
    from tagwise.generator import interests

    before, after = _rows(clean_landing, "orders"), _rows(sequence_landing, "orders")
    assert before <= after
    planted = {row[0]: row for row in after - before}
    lines = {
        row[0]: row
        for row in _rows(sequence_landing, "order_lines") - _rows(clean_landing, "order_lines")
    }
    assert set(lines) == set(planted) and len(planted) > 100
    trigger = f"P{interests.product_of(interests.TRIGGER) + 1}"
    target = f"P{interests.product_of(interests.TARGET) + 1}"
    spring, summer = set(), set()
    for order_id, (_, customer, ordered_at, status, *_) in planted.items():
        month, year = int(ordered_at[5:7]), ordered_at[:4]
        assert status == "completed" and lines[order_id][3] == "1"
        if lines[order_id][2] == trigger:
            assert 3 <= month <= 5
            spring.add((customer, year))
        else:
            assert lines[order_id][2] == target and 6 <= month <= 8
            summer.add((customer, year))
    assert summer and summer <= spring
    # SUMMER_SHARE of them, about, in 2025 (the data ends on 2026-06-30, in the summer)
    of_2025 = [len({p for p in found if p[1] == "2025"}) for found in (summer, spring)]
    assert 0.7 <= of_2025[0] / of_2025[1] <= 0.9


def test_a_planted_sequence_is_the_same_in_an_increment(tmp_path, sequence_landing):
    increment = tmp_path / "increment"
    generate(
        GenerateConfig(
            customers=SMALL, seed=11, out=increment, since=date(2025, 6, 1), planted_sequence=0.3
        ),
        workers=1,
    )
    con = duckdb.connect()
    query = (
        "select * from read_csv('{}/orders/*.csv', all_varchar=true) "
        "where ordered_at::timestamptz >= '2025-06-01 00:00:00+00'"
    )
    assert set(con.execute(query.format(increment)).fetchall()) == set(
        con.execute(query.format(sequence_landing)).fetchall()
    )


def test_a_planted_launch_adds_early_orders_of_its_product_mostly_by_the_eco_conscious(
    clean_landing, tmp_path
):
    """--plant-launch adds orders and changes none: each is completed, one line of the
    launch product, in its first weeks; most of its buyers are eco-conscious, a persona
    no column names, though they are a small part of everyone."""
    from tagwise.generator import launch
    from tagwise.generator import vocabulary as v
    from tagwise.generator.population import draw_population

    out = tmp_path / "landing"
    config = GenerateConfig(customers=SMALL, seed=11, out=out, planted_launch=0.5)
    generate(config, workers=1)
    before, after = _rows(clean_landing, "orders"), _rows(out, "orders")
    assert before <= after
    planted = {row[0]: row for row in after - before}
    lines = {row[0]: row for row in _rows(out, "order_lines") - _rows(clean_landing, "order_lines")}
    assert set(lines) == set(planted) and len(planted) > 20
    end = launch.LAUNCH_DAY + timedelta(days=launch.EARLY_DAYS)
    for order_id, (_, _, ordered_at, status, *_) in planted.items():
        assert status == "completed" and lines[order_id][2] == launch.PRODUCT_ID
        assert launch.LAUNCH_DAY <= date.fromisoformat(ordered_at[:10]) < end
    pop = draw_population(config.seed, 0, config.customers, 0, config.window)
    persona = {f"C{gid + 1}": p for gid, p in zip(pop.gid, pop.persona, strict=True)}
    buyers = [persona[row[1]] for row in planted.values()]
    eco = sum(p == v.P["eco_conscious"] for p in buyers) / len(buyers)
    assert eco >= 0.5 and (pop.persona == v.P["eco_conscious"]).mean() < 0.15
