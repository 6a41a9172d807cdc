"""`tagwise diff`: a catalog change previewed in a scratch copy, compared with an independent
recomputation, and nothing the warehouse, the outbox or the published copy hold changes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date
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
    generate(GenerateConfig(customers=600, seed=13, out=root / "landing"), workers=1)
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
        and not {"landing", "team", "out"} & set(path.relative_to(root).parts)
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
