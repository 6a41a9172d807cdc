"""`tagwise diff`: a catalog change previewed in a scratch copy, compared with an independent
recomputation, and nothing the warehouse, the outbox or the published copy hold changes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from tagwise.orchestration.run import run_pipeline

from tagwise.generator import GenerateConfig, generate

TAGWISE = Path(sys.executable).with_name("tagwise")
AS_OF = date(2026, 6, 30)
EVERYONE = "1000000"  # --sample large enough to list every person entering and leaving


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("diff")
    # Planted second records (some share only a phone with their first) for the identity
    # preview; the catalog tests compute what they expect from the built warehouse.
    generate(
        GenerateConfig(customers=600, seed=13, out=root / "landing", planted_identity=0.1),
        workers=1,
    )
    report = run_pipeline(
        {
            "landing": str(root / "landing"),
            "warehouse": str(root / "warehouse.duckdb"),
            "exports": str(root / "exports"),
        },
        AS_OF,
    )
    assert report.success, report.errors
    return root


def fingerprint(root: Path) -> dict[str, str]:
    """Every byte the pipeline keeps: warehouse, published copy, outboxes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not {"landing", "team", "phone-team", "likely-team", "out"}
        & set(path.relative_to(root).parts)
        and not path.name.endswith(".lock")
    }


def edited_folder(root: Path) -> Path:
    """A deployment folder whose catalogs differ from the shipped ones in a tag threshold
    (frequent-buyer from 5 to 4 orders) and a segment condition (active from 1 to 2)."""
    folder = root / "team"
    subprocess.run([TAGWISE, "init", str(folder)], check=True, capture_output=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run(["git", "-C", str(folder), "add", "."], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(folder),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@x.test",
            "commit",
            "-qm",
            "shipped",
        ],
        check=True,
    )
    tags = folder / "catalogs" / "tag_catalog.yml"
    text = tags.read_text()
    assert "when: orders_365d >= 5" in text
    tags.write_text(text.replace("when: orders_365d >= 5", "when: orders_365d >= 4"))
    segments = folder / "catalogs" / "segment_catalog.yml"
    text = segments.read_text()
    assert "when: orders_365d >= 1" in text
    segments.write_text(text.replace("when: orders_365d >= 1", "when: orders_365d >= 2"))
    return folder


def run_diff(root: Path, folder: Path, *options: str) -> tuple[int, dict, str]:
    out = root / "out"
    finished = subprocess.run(
        [
            TAGWISE, "diff", "--project", str(folder), "--warehouse", str(root / "warehouse.duckdb"),
            "--sample", EVERYONE, "--json", str(out / "diff.json"), "--markdown", str(out / "diff.md"),
            "--html", str(out / "diff.html"), *options,
        ],
        capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    assert finished.returncode in (0, 3), finished.stdout + finished.stderr
    printed = finished.stdout + finished.stderr
    return finished.returncode, json.loads((out / "diff.json").read_text()), printed


def expected_changes(warehouse: Path) -> tuple[set, set, dict[str, set], dict[str, set]]:
    """Independently of dbt: who gains frequent-buyer, and each customer's primary segment
    under the edited catalog, from the built tags and features."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        features = {
            k: (o365, olife)
            for k, o365, olife in con.execute(
                "select customer_key, orders_365d, orders_lifetime from marts.customer_features"
            ).fetchall()
        }
        tags: dict[str, set[str]] = {}
        for k, tag in con.execute("select customer_key, tag from marts.customer_tags").fetchall():
            tags.setdefault(k, set()).add(tag)
        removed = {
            k
            for (k,) in con.execute(
                "select customer_key from intermediate.int_tags__manual_state "
                "where tag = 'frequent-buyer' and action = 'remove'"
            ).fetchall()
        }
        m_scores = dict(
            con.execute("select customer_key, m_score from marts.customer_features").fetchall()
        )
        before = {
            k: s
            for k, s in con.execute(
                "select customer_key, segment from marts.segment_membership where segment_type = 'primary'"
            ).fetchall()
        }
    gaining = {k for k, (o365, _) in features.items() if o365 == 4 and k not in removed} - {
        k for k, held in tags.items() if "frequent-buyer" in held
    }

    def primary(k: str) -> str:
        held = tags.get(k, set()) | ({"frequent-buyer"} if k in gaining else set())
        o365, olife = features[k]
        if "high-value" in held and ({"loyal-customer", "frequent-buyer"} & held):
            return "champions"
        if "at-risk" in held and (m_scores[k] or 0) >= 4:
            return "at-risk-valuable"
        if "new-customer" in held:
            return "new-customers"
        if o365 >= 2:
            return "active"
        if olife >= 1:
            return "lapsed"
        return "prospects"

    after = {k: primary(k) for k in before}
    entering: dict[str, set] = {}
    leaving: dict[str, set] = {}
    for k in before:
        if before[k] != after[k]:
            entering.setdefault(after[k], set()).add(k)
            leaving.setdefault(before[k], set()).add(k)
    return gaining, set(), entering, leaving


def phone_rule_folder(root: Path) -> Path:
    """A deployment folder whose identity catalog adds a phone rule after the email one."""
    folder = root / "phone-team"
    subprocess.run([TAGWISE, "init", str(folder)], check=True, capture_output=True)
    catalog = folder / "catalogs" / "identity_catalog.yml"
    text = catalog.read_text()
    email_rule = "          - rule: same-email\n            match: [email]\n"
    assert email_rule in text
    catalog.write_text(
        text.replace(
            email_rule, email_rule + "          - rule: same-phone\n            match: [phone]\n"
        )
    )
    return folder


def expected_phone_merges(warehouse: Path, limit: int = 5) -> set[frozenset[str]]:
    """Independently of dbt: the customers (sets of keys as built) that records sharing a
    phone join, a phone held by more than `limit` records or of one repeated digit linking
    no one, by union-find over the built people and their current records' phones."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        people = dict(
            con.execute(
                "select customer_id, customer_key from restricted.int_identity__people"
            ).fetchall()
        )
        phones = con.execute(
            "select customer_id, phone from restricted.int_identity__customer_records "
            "where phone is not null"
        ).fetchall()
    holders: dict[str, set[str]] = {}
    for customer_id, phone in phones:
        if customer_id in people and len(set(phone.lstrip("+"))) > 1:
            holders.setdefault(phone, set()).add(customer_id)
    parent = {key: key for key in people.values()}

    def find(key: str) -> str:
        while parent[key] != key:
            key = parent[key]
        return key

    for ids in holders.values():
        if 1 < len(ids) <= limit:
            first, *rest = [people[i] for i in sorted(ids)]
            for other in rest:
                parent[find(other)] = find(first)
    groups: dict[str, set[str]] = {}
    for key in parent:
        groups.setdefault(find(key), set()).add(key)
    return {frozenset(keys) for keys in groups.values() if len(keys) > 1}


def by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


@pytest.fixture(scope="module")
def diffed(built) -> tuple[int, dict, str, bool]:
    """The edited catalogs against the warehouse as built, and whether every byte the
    pipeline keeps is as it was."""
    before = fingerprint(built)
    code, result, printed = run_diff(built, edited_folder(built), "--max-change", "0.99")
    return code, result, printed, fingerprint(built) == before


def test_diff_reports_exactly_who_enters_and_leaves_and_changes_nothing(built, diffed):
    code, result, printed, unchanged = diffed
    assert unchanged
    assert code == 0 and result["crossed"] == []
    gaining, _, entering, leaving = expected_changes(built / "warehouse.duckdb")
    assert gaining, "the sample must have customers with exactly 4 orders in 365 days"

    tags = by_name(result["tags"])
    frequent = tags["frequent-buyer"]
    assert {p["customer_key"] for p in frequent["entering_sample"]} == gaining
    assert frequent["leaving"] == 0
    assert all("4 completed orders" in p["reason"] for p in frequent["entering_sample"])
    assert {n for n, t in tags.items() if t["entering"] or t["leaving"]} == {"frequent-buyer"}

    segments = by_name(result["segments"])
    primary = {n: s for n, s in segments.items() if s.get("type") == "primary"}
    for name, item in primary.items():
        assert {p["customer_key"] for p in item["entering_sample"]} == entering.get(name, set()), (
            name
        )
        assert {p["customer_key"] for p in item["leaving_sample"]} == leaving.get(name, set()), name
        assert item["after"] - item["before"] == item["entering"] - item["leaving"]
    assert leaving["active"] and entering["lapsed"]
    # Reasons: who enters says which condition placed them, with its values.
    lapsed = {p["customer_key"]: p["reason"] for p in primary["lapsed"]["entering_sample"]}
    assert all(reason.startswith("orders_lifetime = ") for reason in lapsed.values())
    assert all(p["reason"] for p in primary["active"]["leaving_sample"])
    assert "tagwise diff as of 2026-06-30" in printed

    markdown = (built / "out" / "diff.md").read_text()
    assert "| active |" in markdown and "### Destinations" in markdown


# A rebuild from identity on (a full dbt build): with the other long scenarios, run by
# `make test-e2e`; `sides` and `compare` below keep their logic in `make test`.
@pytest.mark.e2e
def test_an_identity_catalog_change_lists_the_customers_it_merges_and_what_follows(
    built, diffed, browser, tmp_path
):
    """Issue 45's preview: a phone rule added to the identity catalog, against the warehouse
    as built (its build_info records the shipped catalog). Before this, the diff rebuilt
    the tag and segment models only and showed the change as nothing."""
    before = fingerprint(built)
    code, result, printed = run_diff(built, phone_rule_folder(built))
    assert fingerprint(built) == before and code == 0
    identity = result["identity"]
    assert identity["rebuilt"] and identity["splits"] == 0
    expected = expected_phone_merges(built / "warehouse.duckdb")
    assert expected, "the planted second records must share phones with their first"
    merged = {frozenset(person["customers"]) for person in identity["merge_sample"]}
    assert merged == expected
    assert identity["merges"] == len(expected)
    merged_away = {key for keys in expected for key in keys} - {
        person["customer_key"] for person in identity["merge_sample"]
    }
    # A record that joins an existing customer keeps that customer's key.
    assert all(p["customer_key"] in p["customers"] for p in identity["merge_sample"])
    assert all("merged by same-phone" in p["reason"] for p in identity["merge_sample"])
    assert identity["customers_after"] == identity["customers_before"] - len(merged_away)
    # Merging never widens consent: no channel gains granted people.
    consent = {(c["channel"], c["purpose"]): c for c in identity["consent"]}
    assert ("email", "marketing") in consent
    assert all(c["granted_after"] <= c["granted_before"] for c in consent.values())
    # The customers merged away leave every segment they were in, and nobody else moves.
    segments = by_name(result["segments"])
    leaving = {p["customer_key"] for s in segments.values() for p in s["leaving_sample"]}
    assert merged_away <= leaving
    primary_leaving = {
        p["customer_key"]
        for s in segments.values()
        if s.get("type") == "primary"
        for p in s["leaving_sample"]
    }
    assert merged_away == primary_leaving - {
        p["customer_key"]
        for s in segments.values()
        if s.get("type") == "primary"
        for p in s["entering_sample"]
    }
    assert "The identity catalog changed" in printed and "merged by same-phone" in printed
    assert "### Identity" in (built / "out" / "diff.md").read_text()
    dom = browser.render(built / "out" / "diff.html", tmp_path / "identity.png")
    assert ">Identity</h2>" in dom and "<h3>Merged</h3>" in dom
    assert "merged by same-phone" in dom and "records no longer granted" in dom


def test_which_sides_of_a_diff_rebuild_identity():
    from tagwise.identity.preview import normalised, sides

    shipped = normalised({"rules": [{"rule": "same-email", "match": ["email"]}]})
    phone = normalised({"rules": [*shipped["rules"], {"rule": "same-phone", "match": ["phone"]}]})
    card = normalised(phone | {"extra_identifiers": ["loyalty_card"]})
    assert sides(shipped, None, shipped) == ({"before": None, "after": None}, None)
    assert sides(shipped, None, phone) == ({"before": None, "after": phone}, None)
    assert sides(shipped, phone, phone) == ({"before": None, "after": None}, None)
    assert sides(phone, shipped, phone) == ({"before": shipped, "after": phone}, None)
    # A warehouse built before build_info recorded its catalog: rebuilt, never assumed.
    assert sides(None, None, shipped) == ({"before": None, "after": shipped}, None)
    _rebuilds, refused = sides(shipped, None, card)
    assert "loyalty_card" in refused and "has not ingested" in refused


def test_the_identity_preview_counts_merges_splits_and_consent_per_record():
    """compare() over hand-made snapshots: a and b (two customers) merge by phone, whose
    merged person is withdrawn; c and d (one customer) split."""
    from tagwise.identity.preview import compare

    con = duckdb.connect()
    for side, people, links, consent in (
        (
            "before",
            [("a", "k1"), ("b", "k2"), ("c", "k3"), ("d", "k3")],
            [("d", "c", "same-phone")],
            [("k1", "granted"), ("k2", "withdrawn"), ("k3", "granted")],
        ),
        (
            "after",
            [("a", "k1"), ("b", "k1"), ("c", "k3"), ("d", "k4")],
            [("b", "a", "same-phone")],
            [("k1", "withdrawn"), ("k3", "granted"), ("k4", "granted")],
        ),
    ):
        con.execute(f"create schema {side}")
        con.execute(f"create table {side}.people (customer_id varchar, customer_key varchar)")
        con.executemany(f"insert into {side}.people values (?, ?)", people)
        con.execute(
            f"create table {side}.links (customer_id varchar, linked_customer_id varchar, rule varchar)"
        )
        con.executemany(f"insert into {side}.links values (?, ?, ?)", links)
        con.execute(
            f"create table {side}.consent (customer_key varchar, channel varchar, purpose varchar, status varchar)"
        )
        con.executemany(f"insert into {side}.consent values (?, 'email', 'marketing', ?)", consent)
    found = compare(con, sample=5, rebuilt=True)
    assert (found["merges"], found["merged_records"], found["splits"], found["split_records"]) == (
        1, 2, 1, 2,
    )  # fmt: skip
    (merge,) = found["merge_sample"]
    assert merge["customer_key"] == "k1" and merge["customers"] == ["k1", "k2"]
    assert merge["reason"] == "2 records of 2 customers before: k1, k2; merged by same-phone"
    (split,) = found["split_sample"]
    assert split["customers"] == ["k3", "k4"]
    assert split["reason"] == "2 records of 2 customers now: k3, k4; were linked by same-phone"
    assert found["consent"] == [
        {
            "channel": "email",
            "purpose": "marketing",
            "granted_before": 2,
            "granted_after": 2,
            "records_no_longer_granted": 1,
            "records_newly_granted": 0,
        }
    ]
    assert (found["customers_before"], found["customers_after"]) == (3, 3)


# A second scratch build: with the other long scenarios, run by `make test-e2e`.
@pytest.mark.e2e
def test_a_git_base_gives_the_same_diff_and_a_crossed_threshold_exits_3(built, diffed):
    folder = built / "team"
    before = fingerprint(built)
    code, result, printed = run_diff(built, folder, "--base", "HEAD", "--max-change", "0.01")
    assert fingerprint(built) == before
    assert result["base"] == "the catalogs at HEAD"
    assert code == 3 and any(c.startswith("segment active") for c in result["crossed"])
    assert "over the thresholds" in printed
    gaining, _, _, leaving = expected_changes(built / "warehouse.duckdb")
    tags = by_name(result["tags"])
    assert {p["customer_key"] for p in tags["frequent-buyer"]["entering_sample"]} == gaining
    segments = by_name(result["segments"])
    assert {p["customer_key"] for p in segments["active"]["leaving_sample"]} == leaving["active"]


@pytest.mark.e2e
def test_an_identity_change_against_a_git_base_rebuilds_both_sides_alike(built, diffed):
    """With --base, the base's identity catalog (the shipped one, committed) is rebuilt too:
    the same merges as against the warehouse as built."""
    folder = built / "phone-team"
    if not folder.exists():
        phone_rule_folder(built)
    catalog = folder / "catalogs" / "identity_catalog.yml"
    edited = catalog.read_text()
    catalog.write_text(
        edited.replace("          - rule: same-phone\n            match: [phone]\n", "")
    )
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@x.test"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "shipped"], check=True)
    catalog.write_text(edited)
    code, result, _printed = run_diff(built, folder, "--base", "HEAD")
    assert code == 0 and result["base"] == "the catalogs at HEAD"
    merged = {frozenset(p["customers"]) for p in result["identity"]["merge_sample"]}
    assert merged == expected_phone_merges(built / "warehouse.duckdb")
    assert result["identity"]["splits"] == 0


@pytest.mark.e2e
def test_a_probabilistic_rule_is_trained_in_the_scratch_copy_and_previewed(built, diffed):
    """The identity step runs in the diff's scratch copy between its two dbt builds; the
    warehouse's own matches stay as they were, and Splink's training notes stay out of
    the preview."""
    folder = built / "likely-team"
    subprocess.run([TAGWISE, "init", str(folder)], check=True, capture_output=True)
    catalog = folder / "catalogs" / "identity_catalog.yml"
    email_rule = "          - rule: same-email\n            match: [email]\n"
    catalog.write_text(
        catalog.read_text().replace(
            email_rule,
            email_rule + "        probabilistic:\n          rule: likely-same-person\n"
            "          fields: [first_name, last_name, birth_date, postal_code, city, phone]\n"
            "          blocking: [[phone], [last_name, birth_date]]\n          threshold: 0.95\n",
        )
    )
    before = fingerprint(built)
    code, result, printed = run_diff(built, folder)
    assert code == 0 and fingerprint(built) == before
    identity = result["identity"]
    assert identity["rebuilt"] and identity["merges"] > 0
    assert all("likely-same-person" in p["reason"] for p in identity["merge_sample"])
    assert "splink" not in printed.lower() and "m values" not in printed


@pytest.mark.e2e
def test_a_file_of_customer_ids_seeds_a_lookalike_through_a_manual_tag(built, tmp_path):
    """SPEC 3.10's seed from a file of customer ids: `tagwise tag-list` lands the list as
    manual tags, ingestion loads them, and a lookalike of the deployment's catalog that
    names the tag grows from those customers (previewed by `tagwise diff` on a copy of
    the build: it checks the manual actions again against the folder's taxonomy)."""
    from conftest import copy_of_run

    from tagwise.ingest import ingest
    from tagwise.tag_lists import write_tag_list

    landing, warehouse, _ = copy_of_run(built, tmp_path / "copy")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        listed = dict(
            con.execute(
                "select customer_id, customer_key from restricted.int_identity__people "
                "where customer_id in (select customer_id from raw.orders) "
                "order by customer_id limit 60"
            ).fetchall()
        )
    ids = tmp_path / "guests.csv"
    ids.write_text("customer_id\n" + "\n".join(listed) + "\n", encoding="utf-8")
    folder = tmp_path / "copy" / "guest-team"
    subprocess.run([TAGWISE, "init", str(folder)], check=True, capture_output=True)
    with (folder / "seeds" / "tag_taxonomy.csv").open("a", encoding="utf-8") as taxonomy:
        taxonomy.write(
            "event-guest,engagement,Guests of the spring event,marketing,active,,,90,false\n"
        )
    catalog = folder / "catalogs" / "segment_catalog.yml"
    text = catalog.read_text()
    assert "        lookalikes:\n" in text
    catalog.write_text(
        text.replace(
            "        lookalikes:\n",
            "        lookalikes:\n          - audience: like-event-guests\n"
            "            seed: {tag: event-guest}\n            size: 50\n",
        )
    )
    write_tag_list(
        ids, "event-guest", "anna.k", "marketing", landing, datetime(2026, 6, 29, tzinfo=UTC),
        seeds=folder / "seeds",
    )  # fmt: skip
    loads = [x for x in ingest(landing, warehouse) if x.source == "manual_tags" and x.rows_read]
    assert [(x.rows_accepted, x.rows_quarantined) for x in loads] == [(60, 0)]

    code, result, _ = run_diff(tmp_path / "copy", folder)
    assert code in (0, 3)
    [quality] = [q for q in result["lookalikes"] if q["lookalike"] == "like-event-guests"]
    assert quality["seed"] == "tag event-guest"
    # The taxonomy the folder adds makes the landed actions valid (before it, unknown).
    assert by_name(result["tags"])["event-guest"]["entering"] == len(set(listed.values()))
    # A fifth of the seed is held out by a draw (9 of these 60).
    assert quality["audience_size"] == 50 and 0 < quality["held_out_size"] < 20
    grown = by_name(result["segments"])["like-event-guests"]
    assert grown["after"] == grown["entering"] == 50
    members = {p["customer_key"]: p["reason"] for p in grown["entering_sample"]}
    assert len(members) == 50 and not set(members) & set(listed.values())
    assert all(r.startswith("like tag event-guest: score ") for r in members.values())


def test_the_html_page_shows_its_sections_and_charts_in_a_browser(built, diffed, browser, tmp_path):
    page, png = built / "out" / "diff.html", tmp_path / "diff.png"
    dom = browser.render(page, png)
    for heading in ("Segments and audiences", "Tags", "Destinations", "Audience overlap"):
        assert f">{heading}</h2>" in dom
    # plotly drew both charts (its SVG is in the DOM) and the "after" bars are on screen.
    assert dom.count('class="main-svg"') >= 2
    assert browser.pixels_near(png, (0x2F, 0x6F, 0xDE)) > 500


def _movement(name: str, before: int, after: int) -> dict:
    from tagwise.diff import _movement as movement

    entering, leaving = max(after - before, 0), max(before - after, 0)
    return movement(name, before, after, entering, leaving) | {
        "entering_sample": [{"customer_key": "k" * 12, "reason": "has [x](http://e.test) <b>"}],
        "leaving_sample": [],
    }


def test_a_new_definition_is_judged_by_its_size_not_by_an_infinite_turnover():
    """Issue 40, item 5: every new tag or segment exited 3 ("inf% turnover"), blocking the
    most common catalog change in the pull-request check."""
    from tagwise.diff import Diff

    result = Diff(as_of=AS_OF, base="b", max_change=0.3, max_new_share=0.5, customers=1000)
    result.tags = [_movement("new-small", 0, 120), _movement("steady", 100, 110)]
    assert result.crossed == []
    result.segments = [_movement("new-everyone", 0, 900), _movement("churned", 100, 40)]
    assert result.crossed == [
        "segment new-everyone: new, 900 members (90% of all customers)",
        "segment churned: 60% turnover",
    ]


def test_the_json_of_a_new_definition_leaves_the_result_as_it_was():
    """Writing the JSON (turnover "new") before the HTML page (which reads the thresholds)
    failed with "must be real number, not str" when a definition was new."""
    from tagwise.diff import Diff
    from tagwise.diff_report import as_json

    result = Diff(as_of=AS_OF, base="b", max_change=0.3, max_new_share=0.5, customers=1000)
    result.segments = [_movement("new-everyone", 0, 900)]
    assert json.loads(as_json(result))["segments"][0]["turnover"] == "new"
    assert result.crossed == ["segment new-everyone: new, 900 members (90% of all customers)"]


def test_the_terminal_shows_the_sample_and_markdown_escapes_customer_data(capsys):
    from tagwise.cli.diff import show_diff
    from tagwise.diff import Diff
    from tagwise.diff_report import markdown

    result = Diff(as_of=AS_OF, base="b", max_change=0.3, max_new_share=0.5, customers=1000)
    result.tags = [_movement("new-small", 0, 1)]
    show_diff(result)
    printed = capsys.readouterr().err
    assert "new-small entering: kkkkkkkkkk has [x](http://e.test) <b>" in printed
    text = markdown(result)
    assert "](http" not in text and "<b>" not in text
    assert r"has \[x\]\(http://e.test\) &lt;b&gt;" in text


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_threshold_that_is_not_a_share_is_refused(value, tmp_path):
    from click.testing import CliRunner

    from tagwise.cli import main

    result = CliRunner().invoke(
        main, ["diff", "--warehouse", str(tmp_path / "w.duckdb"), "--max-change", value]
    )
    assert result.exit_code == 2
    assert "is not a share" in result.output
