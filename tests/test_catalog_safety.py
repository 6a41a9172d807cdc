"""What runs is what was checked: catalog text can carry no template, no statement, no
comment and no literal that breaks out of its quotes, and `tagwise check` refuses every
malformed catalog with the entry and the problem instead of crashing."""

from __future__ import annotations

import random
import shutil
from datetime import date

import duckdb
import pytest
import yaml
from click.testing import CliRunner
from test_tag_rules import create_model_fit_status, input_types

from tagwise.catalog import (
    CatalogError,
    check_catalogs,
    check_destination_catalog,
    check_segment_catalog,
    check_tag_catalog,
    condition_problems,
    destination_problems,
    segment_problems,
    selectable_names,
)
from tagwise.cli import main
from tagwise.dbt import DbtSettings, run_dbt
from tagwise.dbt_project import PROJECT_DIR

TAG_CATALOG = "models/intermediate/tags/tag_catalog.yml"
SEGMENT_CATALOG = "models/intermediate/segments/segment_catalog.yml"
DESTINATION_CATALOG = "models/restricted/destinations/destination_catalog.yml"
COLUMNS = {"orders_90d", "job_title", "country", "revenue_365d"}

# Every shape of SQL that is more than an expression over the inputs.
INJECTIONS = [
    "job_title = '{{ env_var(\"HOME\") }}'",
    "job_title = '{% set x = 1 %}'",
    "orders_90d > 1 {# hidden #}",
    "true; copy (select 1) to 'out.csv'",
    "true) or (1 = 1",
    "orders_90d > 1 -- the rest is a comment",
    "orders_90d > 1 /* comment */",
    "orders_90d in (select 1)",
    "exists (select * from raw.customers)",
    "orders_90d > (select count(*) from raw.customers)",
    "job_title in (select email from read_csv('/etc/passwd'))",
    "read_text('/etc/hostname') is not null",
    "job_title = 'a\\' or true or job_title = '",
    "job_title = E'\\x41'",
    "job_title = x'41'",
    "job_title = $$a$$",
    "orders_90d > $1",
    "orders_90d > ?",
    '"job_title" = 1',
    "`job_title` = 1",
    "orders_90d::varchar = '1'",
    "job_title = 'it''s'",
    "raw.customers.email is not null",
    "inputs.job_title is not null",
    "job_title = 'a' union all select 1",
    "summarize(job_title) is not null",
    "getenv('HOME') is not null",
    "job_title = 'line\u2028break'",
    "job_title = 'tab\tin a literal\u0000'",
    "job_title = 'unterminated",
    "query('select 1') is not null",
    "orders_90d > 1 order by 1",
]


@pytest.mark.parametrize("condition", INJECTIONS)
def test_a_condition_that_is_more_than_an_expression_is_refused(condition):
    assert condition_problems(condition, COLUMNS), condition


@pytest.mark.parametrize(
    "condition",
    [
        "orders_90d >= 3",
        "coalesce(job_title, '') = 'yes'",
        "regexp_like(lower(job_title), '(^|[^a-z])(ceo|vp)([^a-z]|$)')",
        "country in ('AU', 'NZ') and not job_title is null",
        "case when orders_90d > 2 then 1 else 0 end = 1",
        "cast(revenue_365d as double) between 1 and 2 or job_title like '%lead%'",
    ],
)
def test_a_plain_expression_passes(condition):
    assert condition_problems(condition, COLUMNS) == []


def project_copy(tmp_path):
    project = tmp_path / "project" / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(PROJECT_DIR.parent / "seeds", project.parent / "seeds")
    return project


def edit(path, change) -> None:
    document = yaml.safe_load(path.read_text())
    change(document["models"][0]["config"]["meta"])
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


@pytest.mark.parametrize(
    ("catalog", "change", "entry"),
    [
        (TAG_CATALOG, lambda m: m["rules"][0].update(evidence="{{ env_var('HOME') }}"), "tag high-value"),
        (TAG_CATALOG, lambda m: m["rules"][1].update(when="orders_90d >= {{ 3 }}"), "tag loyal-customer"),
        (TAG_CATALOG, lambda m: m["rules"][2].update(tag="{% do x %}"), "tag {% do x %}"),
        (SEGMENT_CATALOG, lambda m: m["primary"][0].update(description="{{ var('x') }}"), "segment champions"),
        (SEGMENT_CATALOG, lambda m: m["audiences"][0].update(when="has_tag('{{ x }}')"), "audience sustainability-launch"),
        (DESTINATION_CATALOG, lambda m: m["destinations"][2].update(description="{{ env_var('X') }}"), "the catalog"),
    ],
)  # fmt: skip
def test_a_template_anywhere_in_a_catalog_is_refused_before_dbt_parses(
    tmp_path, catalog, change, entry
):
    project = project_copy(tmp_path)
    edit(project / catalog, change)
    warehouse = tmp_path / "warehouse.duckdb"
    with pytest.raises(CatalogError) as refused:
        run_dbt(DbtSettings(warehouse, date(2026, 6, 30), project_dir=project), "parse")
    assert any(p.startswith(entry) for p in refused.value.problems), refused.value.problems
    assert "template" in str(refused.value)
    assert not (project / "target").exists()  # dbt never started
    assert not warehouse.exists()


BAD_NAMES = ["it's", "a b", "UPPER", "x'); drop table t; --", "back\\slash", "", "-lead", "é"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_are_lower_case_words_joined_by_hyphens(name):
    from test_catalog import SEGMENTS, VOCABULARY

    for kind, catalog in [
        ("segment", SEGMENTS | {"primary": [{"segment": name, "when": "true"}]}),
        ("audience", SEGMENTS | {"audiences": [{"audience": name, "when": "true"}]}),
        ("generated audience", SEGMENTS | {"generated": [{"prefix": name, "column": "job_title"}]}),
    ]:
        found = segment_problems(catalog, VOCABULARY, COLUMNS | {"job_title"})
        assert any(kind in p for p in found), (kind, found)
    entry = {"destination": name, "kind": "email", "consent": [["email", "marketing"]]}
    found = destination_problems({"destinations": [entry]}, selectable_names(SEGMENTS))
    assert any(p.startswith("destination entry 1: destination name") for p in found), found


def test_evidence_text_is_quoted_for_the_engine(tmp_path):
    """Quotes, backslashes and comment markers in an evidence sentence stay text."""
    project = project_copy(tmp_path)
    sentence = "it's \\ \"odd\" -- /* {orders_90d} */ orders; '' ok"
    edit(project / TAG_CATALOG, lambda m: m["rules"][1].update(evidence=sentence))
    warehouse = tmp_path / "warehouse.duckdb"
    types = input_types()
    with duckdb.connect(str(warehouse)) as con:
        create_model_fit_status(con)
        con.execute(
            "create table intermediate.int_tags__inputs ("
            + ", ".join(f"{n} {t}" for n, t in types.items())
            + ")"
        )
        con.execute(
            "insert into intermediate.int_tags__inputs (customer_key, orders_90d) values ('c1', 4)"
        )
    settings = DbtSettings(warehouse, date(2026, 6, 30), project_dir=project)
    run_dbt(settings, "run", select="int_tags__rule_matches", quiet=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute(
            "select evidence from intermediate.int_tags__rule_matches where tag = 'loyal-customer'"
        ).fetchall()
    assert found == [(sentence.replace("{orders_90d}", "4"),)]


MALFORMED = [
    "",
    "- just\n- a list\n",
    "models: 3\n",
    "models: [{name: int_tags__rule_matches, config: 7}]\n",
    "models: [{name: int_tags__rule_matches, config: {meta: [1]}}]\n",
    "models: [{name: int_tags__rule_matches, config: {meta: {rules: {a: 1}}}}]\n",
    "models: [{name: int_tags__rule_matches, config: {meta: {rules: [7, [1], {tag: [x]}, {tag: loyal-customer, when: 3, evidence: 4, unless: 5, source: [1]}]}}}]\n",
    "models: [{name: int_tags__rule_matches, config: {meta: {rules: [{tag: loyal-customer, when: 'orders_90d > 1', evidence: '{orders_90d}', unless: [[1]]}]}}}]\n",
    "models:\n  - name: [unclosed\n",
    "models: [{name: int_tags__rule_matches}]\n\t- tab",
    "\xff\xfe",
]
SEGMENT_MALFORMED = [
    "models: [{name: int_segments__assignments, config: {meta: {primary: 1}}}]\n",
    "models: [{name: int_segments__assignments, config: {meta: {primary: [1, 'x']}}}]\n",
    "models: [{name: int_segments__assignments, config: {meta: {primary: [{segment: [a], when: 'true'}]}}}]\n",
    "models: [{name: int_segments__assignments, config: {meta: {primary: [{segment: a, when: 'true'}], generated: [{prefix: 3}], destinations: [1]}}}]\n",
    "models: [{name: int_segments__assignments, config: {meta: {primary: [{segment: a, when: 'true'}], audiences: [{audience: b, when: {x: 1}}]}}}]\n",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_check_refuses_a_malformed_tag_catalog_without_crashing(tmp_path, text):
    catalog = tmp_path / "tag_catalog.yml"
    catalog.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    with pytest.raises(CatalogError) as refused:
        check_tag_catalog(catalog=catalog)
    assert str(catalog) in str(refused.value) and refused.value.problems


DESTINATION_MALFORMED = [
    "models: [{name: destination_eligibility, config: {meta: {destinations: {email: {}}}}}]\n",
    "models: [{name: destination_eligibility, config: {meta: {destinations: [1, [a]]}}}]\n",
    "models: [{name: destination_eligibility, config: {meta: {destinations: [{destination: a, kind: [sms], consent: [[1, 2, 3]], selects: [x], fields: {a: 1}}]}}}]\n",
    "models: [{name: destination_eligibility, config: {meta: {destinations: [{destination: a, kind: sms, consent: [[sms, marketing]], selects: {segments: champions}, hold_share: true}]}}}]\n",
]


@pytest.mark.parametrize("text", DESTINATION_MALFORMED)
def test_check_refuses_a_malformed_destination_catalog_without_crashing(tmp_path, text):
    catalog = tmp_path / "destination_catalog.yml"
    catalog.write_text(text)
    with pytest.raises(CatalogError) as refused:
        check_destination_catalog(catalog=catalog)
    assert refused.value.problems


@pytest.mark.parametrize("text", SEGMENT_MALFORMED)
def test_check_refuses_a_malformed_segment_catalog_without_crashing(tmp_path, text):
    catalog = tmp_path / "segment_catalog.yml"
    catalog.write_text(text)
    with pytest.raises(CatalogError) as refused:
        check_segment_catalog(catalog=catalog)
    assert refused.value.problems


def _mutate(value, rng: random.Random):
    """A random wrong-typed replacement somewhere in a YAML document."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return value | {key: _mutate(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        at = rng.randrange(len(value))
        return [*value[:at], _mutate(value[at], rng), *value[at + 1 :]]
    return rng.choice([None, 0, 1.5, True, "", "x", [], {}, ["a", 1], {"k": [None]}, "'; --"])


@pytest.mark.parametrize("seed", range(60))
def test_check_never_crashes_on_a_mutated_catalog(tmp_path, seed):
    """Random wrong types anywhere in either shipped catalog: a CatalogError, or a pass."""
    rng = random.Random(seed)
    project = project_copy(tmp_path)
    for catalog in (TAG_CATALOG, SEGMENT_CATALOG, DESTINATION_CATALOG):
        path = project / catalog
        path.write_text(yaml.safe_dump(_mutate(yaml.safe_load(path.read_text()), rng)))
    try:
        check_catalogs(project)
    except CatalogError as error:
        assert error.problems


def test_check_command_names_the_entry_and_exits_1(tmp_path, monkeypatch):
    project = project_copy(tmp_path)
    edit(project / TAG_CATALOG, lambda m: m["rules"][3].update(when="true; select 1"))
    monkeypatch.setattr("tagwise.catalog.check_catalogs", lambda: check_catalogs(project))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert "tag first-time-buyer: `when` may not contain ';'" in result.output
    assert "Traceback" not in result.output


def test_has_tag_in_another_case_and_deep_nesting_are_refused_without_a_crash():
    """Issue 40, item 25: HAS_TAG(...) passed check and failed the run; 2,000 nested
    parentheses crashed check with a RecursionError."""
    from tagwise.catalog import SEGMENT_FUNCTIONS

    upper = condition_problems("HAS_TAG('high-value')", COLUMNS, SEGMENT_FUNCTIONS)
    assert upper == ["write has_tag in lower case, not HAS_TAG"]
    assert condition_problems("has_tag('high-value')", COLUMNS, SEGMENT_FUNCTIONS) == []
    deep = "(" * 2000 + "orders_90d > 1" + ")" * 2000
    assert condition_problems(deep, COLUMNS) == ["`when` nests parentheses 2000 deep (at most 32)"]
    assert condition_problems("(" * 32 + "orders_90d > 1" + ")" * 32, COLUMNS) == []


def test_a_seed_with_mixed_line_endings_is_refused_by_name(tmp_path):
    """Issue 40, item 25: check accepted a taxonomy dbt's seed loader cannot read."""
    from tagwise.catalog import Vocabulary
    from tagwise.project import shipped

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    taxonomy = (shipped() / "seeds" / "tag_taxonomy.csv").read_text().splitlines()
    (seeds / "tag_taxonomy.csv").write_bytes(
        ("\r\n".join(taxonomy[:3]) + "\n" + "\n".join(taxonomy[3:]) + "\n").encode()
    )
    (seeds / "tag_synonyms.csv").write_bytes(
        (shipped() / "seeds" / "tag_synonyms.csv").read_bytes()
    )
    with pytest.raises(CatalogError, match="mixes line endings"):
        Vocabulary.from_seeds(seeds)
    (seeds / "tag_taxonomy.csv").write_text("\r\n".join(taxonomy) + "\r\n")
    assert "high-value" in Vocabulary.from_seeds(seeds).tags


def test_a_catalog_edited_after_the_check_stops_the_release(tmp_path, monkeypatch):
    """Issue 40, item 9: a catalog saved while a run was in progress passed the check at
    the start and dbt then built the edited file. What the check read is fingerprinted;
    the release steps (each export, the publish) refuse when a file changed since, naming
    it; another folder's check (a copy) is not this run's."""
    from tagwise import catalog
    from tagwise.catalog import documents

    project = project_copy(tmp_path)
    check_catalogs(project)
    catalog.require_unchanged_since_checked()  # a copy's files are not this run's
    monkeypatch.setattr(documents, "project_root", lambda: project.parent)
    check_catalogs(project)
    catalog.require_unchanged_since_checked()
    segments = project / SEGMENT_CATALOG
    edit(segments, lambda meta: meta["primary"][3].update({"when": "orders_365d >= 2"}))
    with pytest.raises(CatalogError, match="changed after it was checked") as refused:
        catalog.require_unchanged_since_checked()
    assert str(segments) in str(refused.value)
    check_catalogs(project)  # the next run checks the file as it is now
    catalog.require_unchanged_since_checked()


def test_the_release_steps_refuse_catalogs_changed_since_the_check():
    import inspect

    from tagwise.orchestration.export import assets

    *destination_exports, published = assets.release_assets()[1:]
    for step in (published, *destination_exports):
        source_text = inspect.getsource(step.op.compute_fn.decorated_fn)
        assert source_text.count("require_unchanged_since_checked()") == 1


def test_catalogs_unchanged_since_their_check_are_not_checked_again(tmp_path, monkeypatch):
    """Issue 41: a run validated its catalogs four times (before parsing and before each dbt
    step). Files unchanged since the last check of the same files pass again without a
    new check; a file edited since, a seed among them, is checked anew."""
    from tagwise import catalog

    project = project_copy(tmp_path)
    checks = []
    real = catalog.check_tag_catalog
    monkeypatch.setattr(
        catalog, "check_tag_catalog", lambda *args: checks.append(args) or real(*args)
    )
    first = check_catalogs(project)
    assert check_catalogs(project) == first
    assert len(checks) == 1
    edit(project / TAG_CATALOG, lambda m: m["rules"][3].update(when="orders_lifetime = 2"))
    check_catalogs(project)
    assert len(checks) == 2
    taxonomy = project.parent / "seeds" / "tag_taxonomy.csv"
    taxonomy.write_text(taxonomy.read_text() + "\n")
    check_catalogs(project)
    assert len(checks) == 3
    check_catalogs(project)
    assert len(checks) == 3
