"""`tagwise suggest` (SPEC 3.11), first part: new tags from behaviour, merges, retirements."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from tagwise.catalog.conditions import condition_problems, evidence_problems
from tagwise.catalog.documents import TAG_INPUTS_DOC, documented_columns
from tagwise.cli import main
from tagwise.relations import ref
from tagwise.suggest import Inputs, jaccard, suggest, write_review

AS_OF = date(2026, 6, 30)
HIGH_VALUE = "revenue_365d > 0 and revenue_365d_cume_dist > 0.9"


def population(customers: int = 2000, planted: int = 100, seed: int = 1) -> pd.DataFrame:
    """Customers whose eco share is low but for a planted group that buys mostly eco."""
    rng = np.random.default_rng(seed)
    eco = rng.uniform(0, 0.1, customers)
    eco[:planted] = rng.uniform(0.7, 0.9, planted)
    revenue = rng.gamma(2.0, 100.0, customers)
    return pd.DataFrame(
        {
            "customer_key": [f"k{i:05d}" for i in range(customers)],
            "eco_share_365d": eco,
            "revenue_365d": revenue,
            "revenue_365d_cume_dist": pd.Series(revenue).rank(pct=True).to_numpy(),
            "orders_90d": rng.integers(0, 3, customers),
        }
    )


def tags_of(customers: pd.DataFrame, **conditions) -> pd.DataFrame:
    rows = [
        (key, tag)
        for tag, condition in conditions.items()
        for key in customers.query(condition)["customer_key"]
    ]
    return pd.DataFrame(rows, columns=["customer_key", "tag"])


def test_a_planted_behaviour_comes_back_as_a_new_tag_whose_condition_passes_the_check():
    customers = population()
    planted = set(customers["customer_key"][:100])
    inputs = Inputs(AS_OF, customers, tags_of(customers), {})
    [new] = [s for s in suggest(inputs) if s.kind == "new"]
    assert new.tag == "high-eco-share-365d"
    matched = set(customers.query(new.condition.replace("= ", "="))["customer_key"])
    assert new.members == len(matched)
    assert jaccard(matched, planted) >= 0.8
    assert new.lift_lower >= 2 and new.stability >= 0.9
    assert (
        condition_problems(new.condition, documented_columns(TAG_INPUTS_DOC, "int_tags__inputs"))
        == []
    )
    assert len(new.sample) == 5 and all(r["customer_key"] in matched for r in new.sample)
    assert suggest(inputs) == suggest(inputs)  # deterministic


def test_nothing_new_is_suggested_where_no_behaviour_sets_anyone_apart():
    customers = population(planted=0)
    assert [
        s for s in suggest(Inputs(AS_OF, customers, tags_of(customers), {})) if s.kind == "new"
    ] == []


def test_a_second_name_for_the_same_people_merges_and_a_tag_of_no_one_retires():
    customers = population()
    rules = {"high-value": HIGH_VALUE, "top-spender": HIGH_VALUE, "big-basket": "orders_90d > 1000"}
    tags = tags_of(customers, **{"high-value": HIGH_VALUE, "top-spender": HIGH_VALUE})
    # A team tagged 30 more customers high-value by hand: the rules still match the same.
    untagged = customers["customer_key"][~customers["customer_key"].isin(tags["customer_key"])]
    manual = pd.DataFrame({"customer_key": untagged[:30], "tag": "high-value", "source": "manual"})
    # Two generated tags held by the same five people: an index over five is chance.
    few = pd.DataFrame({"customer_key": list(customers["customer_key"][-5:]) * 2,
                        "tag": ["likely-a-buyer"] * 5 + ["likely-b-buyer"] * 5, "source": "model"})  # fmt: skip
    tags = pd.concat([tags.assign(source="rule"), manual, few], ignore_index=True)
    found = {(s.kind, s.tag): s for s in suggest(Inputs(AS_OF, customers, tags, rules))}
    merge = found[("merge", "top-spender")]
    assert merge.with_tag == "high-value" and merge.overlap[0]["jaccard"] == 1.0
    assert "matched by the same rule" in merge.reason
    assert found[("retire", "big-basket")].reason == "matches no one"
    assert ("retire", "high-value") not in found  # it still sets its members apart
    assert not {key for key in found if key[1].startswith("likely-")}


def test_a_rule_tag_whose_members_no_longer_differ_is_proposed_for_retirement():
    customers = population(planted=0)
    # Every other customer: on orders_90d they are everyone.
    rule = "orders_90d >= 0 and revenue_365d > 0"
    tags = pd.DataFrame({"customer_key": customers["customer_key"][::2], "tag": "regular"})
    [retire] = [s for s in suggest(Inputs(AS_OF, customers, tags, {"regular": rule}))]
    assert retire.kind == "retire" and "no longer differ" in retire.reason


def members_by_sql(customers: pd.DataFrame, condition: str) -> set[str]:
    """Who a condition matches as the engine reads it (DuckDB), not as pandas would."""
    with duckdb.connect() as con:
        con.register("inputs", customers)
        found = con.execute(f"select customer_key from inputs where {condition}").fetchall()
    return {key for (key,) in found}


def test_a_sequence_far_more_common_one_way_comes_back_as_a_then_b_tag():
    """200 of 3,000 customers bought kitchen then coffee; books and toys come in either
    order as often. Only the first is a sequence, and its condition reads it back."""
    rng = np.random.default_rng(3)
    customers = 3000
    pairs = []
    for i in range(customers):
        held = ["kitchen>coffee"] if i < 200 else []
        noise = ("books>toys", "toys>books", "coffee>books", "books>coffee")
        held += [p for p in noise if rng.random() < 0.2]
        pairs.append("|" + "|".join(sorted(held)) + "|" if held else None)
    frame = pd.DataFrame(
        {"customer_key": [f"k{i:05d}" for i in range(customers)], "category_sequences_365d": pairs}
    )
    found = [s for s in suggest(Inputs(AS_OF, frame, tags_of(frame), {})) if s.kind == "new"]
    [sequence] = found
    assert sequence.source == "sequence" and sequence.tag == "kitchen-then-coffee"
    assert sequence.condition == "category_sequences_365d like '%|kitchen>coffee|%'"
    assert members_by_sql(frame, sequence.condition) == set(frame["customer_key"][:200])
    assert sequence.members == 200 and sequence.lift == 200 and sequence.stability == 1
    columns = documented_columns(TAG_INPUTS_DOC, "int_tags__inputs")
    assert condition_problems(sequence.condition, columns) == []
    assert evidence_problems(sequence.evidence, columns) == []


def test_customers_who_spend_most_of_their_year_in_one_category_come_back_as_a_tag():
    """Books is 10% of everyone's revenue; 100 of 2,000 customers spend 80-95% of theirs on
    it, the other fans of a category about a third. Only books comes back, and its
    condition reads the group back."""
    rng = np.random.default_rng(11)
    customers, planted = 2000, 100
    top = rng.choice(["art", "books", "music", "toys"], customers)
    share = rng.uniform(0.25, 0.4, customers)
    top[:planted], share[:planted] = "books", rng.uniform(0.8, 0.95, planted)
    frame = pd.DataFrame(
        {
            "customer_key": [f"k{i:05d}" for i in range(customers)],
            "top_category_365d": top,
            "top_category_share_365d": share,
        }
    )
    shares = {"art": 0.3, "books": 0.1, "music": 0.3, "toys": 0.3}
    inputs = Inputs(AS_OF, frame, tags_of(frame), {}, shares)
    [category] = [s for s in suggest(inputs) if s.kind == "new"]
    assert category.source == "category" and category.tag == "mostly-books"
    assert category.condition.startswith(
        "top_category_365d = 'books' and top_category_share_365d >= "
    )
    assert members_by_sql(frame, category.condition) == set(frame["customer_key"][:planted])
    assert category.lift_lower >= 7 and category.stability >= 0.9
    columns = documented_columns(TAG_INPUTS_DOC, "int_tags__inputs")
    assert condition_problems(category.condition, columns) == []
    assert evidence_problems(category.evidence, columns) == []


def test_a_resample_that_misses_a_small_cluster_keeps_its_thresholds():
    """Stability resamples the buyers; a resample of 200 buyers can hold none of a small
    cluster, and its thresholds then stay as they were (it raised IndexError)."""
    from tagwise.suggest.clusters import joint_thresholds

    values = np.random.default_rng(1).uniform(0, 1, (200, 2))
    assert joint_thresholds(values, np.zeros(200, bool), [0.5, 0.7]) == [0.5, 0.7]


@pytest.mark.parametrize("seed", range(6))
def test_every_source_copes_with_a_small_ragged_build(seed):
    """A few hundred customers, a third without orders (null shares), few sequences: every
    source runs, and each proposed tag's condition reads back its count."""
    rng = np.random.default_rng(seed)
    n = 90 + 40 * seed
    orders = rng.integers(0, 5, n)
    share = np.where(orders > 0, rng.uniform(0, 1, n), np.nan)
    pairs = rng.choice([None, "|a>b|", "|b>a|", "|a>b|c>a|"], n)
    frame = pd.DataFrame(
        {
            "customer_key": [f"k{i:05d}" for i in range(n)],
            "orders_365d": orders,
            "orders_90d": orders // 2,
            "app_share_365d": share,
            "late_night_share_365d": np.where(orders > 0, rng.uniform(0, 1, n), np.nan),
            "discount_share_365d": np.where(orders > 0, rng.binomial(1, 0.1, n), np.nan),
            "top_category_365d": np.where(orders > 0, rng.choice(["a", "b", "c"], n), None),
            "top_category_share_365d": share,
            "category_sequences_365d": pairs,
        }
    )
    inputs = Inputs(AS_OF, frame, tags_of(frame), {}, {"a": 0.05, "b": 0.45, "c": 0.5})
    for s in suggest(inputs, seed=seed):
        if s.kind == "new":
            assert len(members_by_sql(frame, s.condition)) == s.members, s.condition


def test_a_group_two_behaviours_set_apart_comes_back_as_one_cluster_tag():
    """150 of 3,000 buyers order through the app late at night; everyone else's shares are
    those of a few orders placed at random. The cluster comes back named by both, as a
    condition whose members are the group (Jaccard >= 0.8), read back by the engine."""
    rng = np.random.default_rng(5)
    customers, planted = 3000, 150
    orders = rng.integers(1, 8, customers)
    app = rng.binomial(orders, 0.15) / orders
    night = rng.binomial(orders, 0.3) / orders
    app[:planted], night[:planted] = rng.uniform(0.8, 1, planted), rng.uniform(0.8, 1, planted)
    frame = pd.DataFrame(
        {
            "customer_key": [f"k{i:05d}" for i in range(customers)],
            "orders_365d": orders,
            "app_share_365d": app,
            "late_night_share_365d": night,
            "discount_share_365d": rng.binomial(orders, 0.2) / orders,
            "eco_share_365d": rng.uniform(0, 0.3, customers),
            "avg_order_value": rng.gamma(4, 25, customers),
        }
    )
    inputs = Inputs(AS_OF, frame, tags_of(frame), {})
    [cluster] = [s for s in suggest(inputs) if s.source == "cluster"]
    assert cluster.tag == "high-app-and-late-night"
    assert cluster.condition.startswith("app_share_365d >= ")
    assert " and late_night_share_365d >= " in cluster.condition
    matched = members_by_sql(frame, cluster.condition)
    assert cluster.members == len(matched)
    assert jaccard(matched, set(frame["customer_key"][:planted])) >= 0.8
    assert cluster.lift_lower >= 2 and cluster.stability >= 0.9
    assert set(cluster.sample[0]) == {"customer_key", "app_share_365d", "late_night_share_365d"}
    assert suggest(inputs) == suggest(inputs)  # deterministic for a seed


def test_a_review_says_what_the_review_of_the_previous_build_proposed(tmp_path):
    """A quarter apart, the eco group shrank from 100 to 60: the later review shows the
    earlier one's condition and count beside its own; the earlier knows of no later one."""
    customers, fewer = population(), population(planted=60)
    earlier, _ = write_review(
        Inputs(date(2026, 3, 31), customers, tags_of(customers), {}), tmp_path
    )
    later, paths = write_review(Inputs(AS_OF, fewer, tags_of(fewer), {}), tmp_path)
    [before] = [s for s in earlier if s.kind == "new"]
    [now] = [s for s in later if s.kind == "new"]
    assert before.previous is None and now.members == 60
    assert now.previous == {"as_of": "2026-03-31", "condition": before.condition, "members": 100}
    assert json.loads(paths[0].read_text())[0]["previous"]["members"] == 100
    assert "proposed as of 2026-03-31 too: 100 customers" in paths[2].read_text()
    again, _ = write_review(Inputs(date(2026, 3, 31), customers, tags_of(customers), {}), tmp_path)
    assert [s.previous for s in again] == [None] * len(again)


@pytest.fixture
def built(tmp_path):
    """A warehouse holding what suggest reads: the inputs, the tags, the build's date and
    one customer who objected to profiling (a planted eco buyer)."""
    customers = population()
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for schema in ("intermediate", "marts", "restricted"):
            con.execute(f"create schema {schema}")
        con.register("customers", customers)
        con.execute(f"create table {ref('int_tags__inputs')} as select * from customers")
        con.register("tags", tags_of(customers, **{"high-value": HIGH_VALUE}))
        con.execute(f"create table {ref('customer_tags')} as select *, 'rule' as source from tags")
        con.execute(f"create table {ref('build_info')} as select date '{AS_OF}' as as_of_date")
        con.execute(
            f"create table {ref('int_order_lines__revenue_365d')} as "
            "select customer_key, 'books' as category, revenue_365d as line_revenue from customers"
        )
        con.execute(
            f"create table {ref('int_privacy__profiling_objections')} as "
            "select 'k00000' as customer_key"
        )
    return path


def test_suggest_reads_the_build_leaves_out_who_objected_to_profiling_and_writes_a_review(
    built, tmp_path
):
    before = built.read_bytes()
    out = tmp_path / "review"
    args = ["suggest", "--warehouse", str(built), "--json", "--out", str(out)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    records = json.loads(first.output)
    [new] = [r for r in records if r["kind"] == "new"]
    assert new["tag"] == "high-eco-share-365d" and new["members"] == 99  # k00000 left out
    assert all(r["customer_key"] != "k00000" for r in new["sample"])
    assert set(new) >= {"kind", "tag", "condition", "members", "support", "lift", "stability",
                        "overlap", "with", "sample"}  # fmt: skip
    review = (out / "suggestions-2026-06-30.yml").read_text()
    assert f"- tag: high-eco-share-365d\n  when: {json.dumps(new['condition'])}" in review
    columns = documented_columns(TAG_INPUTS_DOC, "int_tags__inputs")
    for rule in yaml.safe_load(review):  # each snippet is a rule `tagwise check` accepts
        assert condition_problems(rule["when"], columns) == []
        assert evidence_problems(rule["evidence"], columns) == []
    assert json.loads((out / "suggestions-2026-06-30.json").read_text()) == records
    assert CliRunner().invoke(main, args).output == first.output  # deterministic
    assert built.read_bytes() == before
    page = tmp_path / "pages" / "suggestions.html"
    table = CliRunner().invoke(main, ["suggest", "--warehouse", str(built), "--html", str(page)])
    assert table.exit_code == 0 and "high-eco" in table.output, table.output
    assert page.read_text() == (out / "suggestions-2026-06-30.html").read_text()
    other_day = CliRunner().invoke(
        main, ["suggest", "--warehouse", str(built), "--as-of", "2026-06-29"]
    )
    assert other_day.exit_code == 1
    assert "the latest build is as of 2026-06-30, not 2026-06-29" in other_day.output


def test_the_page_shows_its_charts_and_every_suggestion_in_a_browser(built, browser, tmp_path):
    out = tmp_path / "review"
    done = CliRunner().invoke(main, ["suggest", "--warehouse", str(built), "--out", str(out)])
    assert done.exit_code == 0, done.output
    dom = browser.render(out / "suggestions-2026-06-30.html", tmp_path / "page.png")
    for heading in ("At a glance", "Each suggestion"):
        assert f">{heading}</h2>" in dom
    assert dom.count('class="main-svg"') >= 2  # plotly drew both charts, offline
    assert "new: high-eco-share-365d" in dom
    assert browser.pixels_near(tmp_path / "page.png", (0x2F, 0x6F, 0xDE)) > 500  # the bars


def planted_habits(customers: int, seed: int, share: float) -> tuple[set[str], set[str]]:
    """The customer ids the generator made night owls and kitchen-then-coffee buyers."""
    from pathlib import Path

    from tagwise.generator import CHUNK_SIZE, GenerateConfig, habits, population

    config = GenerateConfig(customers, seed, Path("unused"), planted_habits=share)
    owls, routine = set(), set()
    for chunk in range(-(-customers // CHUNK_SIZE)):
        size = min(CHUNK_SIZE, customers - chunk * CHUNK_SIZE)
        pop = population.draw_population(seed, chunk, size, chunk * CHUNK_SIZE, config.window)
        ids = np.array(population.customer_id(pop.gid).to_pylist())
        is_owl = habits.night_owls(pop, chunk, share)
        planted = habits.routine(pop, config.window, chunk, share, is_owl)
        owls |= set(ids[is_owl])
        routine |= set(ids[np.unique(planted.owner)])
    return owls, routine


@pytest.mark.e2e
def test_on_a_build_suggest_finds_the_planted_habits_and_cleans_up_the_catalog(tmp_path):
    """Through the catalog and real builds. The generator plants night owls and
    kitchen-then-coffee buyers; `top-spender` has high-value's condition under another
    name, `big-basket` matches no one. suggest proposes a tag for each habit whose members
    are the planted group (Jaccard >= 0.8, among customers who bought in the year and allow
    profiling), merges the first tag and retires the second. Accepting both habits as the
    review file writes them passes `tagwise check`, and the next build tags the same
    customers suggest counted."""
    import subprocess

    from test_readme import ROOT, newcomers_environment

    tagwise = str(ROOT / ".venv" / "bin" / "tagwise")
    folder = tmp_path / "acme"

    def cli(*args: str) -> str:
        project = [] if args[0] == "init" else ["--project", str(folder)]
        done = subprocess.run(
            [tagwise, *project, *args], cwd=tmp_path,
            env=newcomers_environment(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    cli("init", str(folder))
    taxonomy = folder / "seeds" / "tag_taxonomy.csv"
    taxonomy.write_text(
        taxonomy.read_text().rstrip("\n")
        + "\ntop-spender,value,High value under another name,marketing,active,,,11,false"
        + "\nbig-basket,behavior,More than a thousand orders in 90 days,marketing,active,,,12,false\n"
    )
    catalog = folder / "catalogs" / "tag_catalog.yml"
    document = yaml.safe_load(catalog.read_text())
    rules = document["models"][0]["config"]["meta"]["rules"]
    rules += [
        {"tag": "top-spender", "when": HIGH_VALUE, "evidence": "revenue of {revenue_365d:money}"},
        {"tag": "big-basket", "when": "orders_90d > 1000", "evidence": "{orders_90d} orders"},
    ]
    catalog.write_text(yaml.safe_dump(document, sort_keys=False))
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    cli("generate", "--customers", "4000", "--seed", "5", "--plant-habits", "0.1",
        "--out", str(landing))  # fmt: skip
    run = ["run", "--landing", str(landing), "--warehouse", str(warehouse),
           "--exports", str(tmp_path / "exports"), "--as-of", "2026-06-30"]  # fmt: skip
    cli(*run)
    review = tmp_path / "review"
    records = json.loads(
        cli("suggest", "--warehouse", str(warehouse), "--json", "--out", str(review))
    )
    about = {
        (r["kind"], r["tag"], r["with"])
        for r in records
        if {r["tag"], r["with"]} & {"top-spender", "big-basket"}
    }
    assert about == {("merge", "top-spender", "high-value"), ("retire", "big-basket", None)}

    owl_ids, routine_ids = planted_habits(4000, 5, 0.1)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        keys = dict(con.execute(
            f"select people.customer_id, people.customer_key "
            f"from {ref('int_identity__people')} as people "
            f"inner join {ref('int_tags__inputs')} as inputs using (customer_key) "
            f"where inputs.orders_365d > 0 and people.customer_key not in "
            f"(select customer_key from {ref('int_privacy__profiling_objections')})"
        ).fetchall())  # fmt: skip

        def holders(condition: str) -> set[str]:
            return {key for (key,) in con.execute(
                f"select customer_key from {ref('int_tags__inputs')} where {condition}"
            ).fetchall()} & set(keys.values())  # fmt: skip

        new = {r["tag"]: r for r in records if r["kind"] == "new"}
        owls = {keys[i] for i in owl_ids if i in keys}
        routine = {keys[i] for i in routine_ids if i in keys}
        night = new["high-app-and-late-night"]
        sequence = new["home-kitchen-then-food-coffee"]
        assert jaccard(holders(night["condition"]), owls) >= 0.8
        assert jaccard(holders(sequence["condition"]), routine) >= 0.8
        assert len(holders(night["condition"])) == night["members"]

    # Accept both as the review file writes them: its taxonomy rows and its rules.
    snippets = (review / "suggestions-2026-06-30.yml").read_text()
    accepted = [r for r in yaml.safe_load(snippets) if r["tag"] in (night["tag"], sequence["tag"])]
    rows = [line.split(": ", 1)[1] for line in snippets.splitlines()
            if line.startswith("#   seeds/tag_taxonomy.csv: ")
            and line.split(": ", 1)[1].split(",")[0] in (night["tag"], sequence["tag"])]  # fmt: skip
    assert len(accepted) == len(rows) == 2
    taxonomy.write_text(taxonomy.read_text() + "\n".join(rows) + "\n")
    document = yaml.safe_load(catalog.read_text())
    document["models"][0]["config"]["meta"]["rules"] += accepted
    catalog.write_text(yaml.safe_dump(document, sort_keys=False))
    cli("check")
    cli(*run)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tagged = dict(con.execute(
            f"select tag, count(distinct customer_key) from {ref('customer_tags')} "
            f"where tag in ('{night['tag']}', '{sequence['tag']}') group by tag"
        ).fetchall())  # fmt: skip
    assert tagged == {night["tag"]: night["members"], sequence["tag"]: sequence["members"]}
