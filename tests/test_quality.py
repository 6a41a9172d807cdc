"""The release gate: every check fails on a crafted bad dataset and passes on a good one;
an error blocks export and publish, a warning does not; results and Data Docs are kept."""

from __future__ import annotations

import math
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import Landing, sha256
from tagwise.expectations.suites import GateSettings, checks
from tagwise.orchestration.run import build_as_of, run_pipeline

from tagwise.ingest import ingest
from tagwise.quality import dataset_frame, erased_in_export_files, validate
from tagwise.settings import Settings

AS_OF = date(2026, 6, 30)

ACTIVE = ["loyal-customer", "key-account", "at-risk"]
RETIRED = ["vip", "big-spender"]


def good() -> dict[str, pd.DataFrame]:
    return {
        "customer_tags": pd.DataFrame(
            [
                {
                    "customer_key": "k1",
                    "tag": "loyal-customer",
                    "source": "rule",
                    "rule_version_presence": "rule with rule_version",
                    "actor_presence": "rule without actor",
                },
                {
                    "customer_key": "k2",
                    "tag": "key-account",
                    "source": "manual",
                    "rule_version_presence": "manual without rule_version",
                    "actor_presence": "manual with actor",
                },
            ]
        ),
        "tags_per_exclusive_group": pd.DataFrame(
            [{"customer_key": "k1", "exclusive_group": "lifecycle", "tags": 1}]
        ),
        "tags_per_customer": pd.DataFrame([{"customer_key": "k1", "tags": 2}]),
        "profiling_tags_of_objectors": pd.DataFrame(columns=["customer_key", "tag"]),
        "propensity_of_objectors": pd.DataFrame(columns=["customer_key", "category"]),
        "lookalike_members_of_objectors": pd.DataFrame(columns=["customer_key", "segment"]),
        "email_audience": pd.DataFrame(
            [
                {
                    "email": "a@x.test",
                    "is_email_marketable": True,
                    "email_marketing_consent": "granted",
                    "suppression_reason": None,
                    "is_suppressed": False,
                }
            ]
        ),
        "destination_breaches": pd.DataFrame(columns=["destination", "customer_key", "problem"]),
        "erased_people_present": pd.DataFrame(columns=["found_in", "customer_key"]),
        "erased_in_export_files": pd.DataFrame(columns=["file", "identifier_sha256"]),
        "unsent_removes": pd.DataFrame(columns=["destination", "key", "problem"]),
        "segment_size_changes": pd.DataFrame(
            [{"segment": "active", "members": 120, "last_good_members": 100, "change_share": 0.2}]
        ),
        "feature_shifts": pd.DataFrame(
            [
                {
                    "feature": "orders_90d",
                    "mean": 1.1,
                    "last_good_mean": 1.0,
                    "last_good_sd": 0.9,
                    "shift_in_sd": 0.11,
                }
            ]
        ),
        "population_mean_changes": pd.DataFrame(
            [
                {
                    "parameter": "mean_order_value",
                    "value": 52.0,
                    "last_good_value": 50.0,
                    "change_share": 0.04,
                }
            ]
        ),
    }


def set_value(dataset: str, column: str, value):
    def change(frames):
        frames[dataset].loc[0, column] = value

    change.dataset = dataset
    return change


def add_row(dataset: str, row: dict):
    def change(frames):
        frames[dataset] = pd.concat([frames[dataset], pd.DataFrame([row])], ignore_index=True)

    change.dataset = dataset
    return change


MISTAKES = [
    ("Every tag is an active tag", set_value("customer_tags", "tag", "made-up")),
    ("No tag is a synonym's alias or a deprecated tag", set_value("customer_tags", "tag", "vip")),
    (
        "No customer holds two tags of one exclusive group",
        set_value("tags_per_exclusive_group", "tags", 2),
    ),
    (
        "Every rule and model tag carries its rule_version",
        set_value("customer_tags", "rule_version_presence", "rule without rule_version"),
    ),
    (
        "Every manual tag names the person",
        add_row(
            "customer_tags",
            {
                "customer_key": "k3",
                "tag": "at-risk",
                "source": "manual",
                "rule_version_presence": "manual without rule_version",
                "actor_presence": "manual without actor",
            },
        ),
    ),
    ("No customer holds more than 8 tags", set_value("tags_per_customer", "tags", 9)),
    (
        "No profiling tag for a customer who withdrew",
        add_row("profiling_tags_of_objectors", {"customer_key": "k1", "tag": "price-sensitive"}),
    ),
    (
        "No predicted interest for a customer who withdrew",
        add_row("propensity_of_objectors", {"customer_key": "k1", "category": "books-mystery"}),
    ),
    (
        "No lookalike audience holds a customer who withdrew",
        add_row(
            "lookalike_members_of_objectors", {"customer_key": "k1", "segment": "like-champions"}
        ),
    ),
    (
        "Every exported address is email-marketable",
        set_value("email_audience", "is_email_marketable", False),
    ),
    (
        "Every exported address has granted email marketing consent",
        set_value("email_audience", "email_marketing_consent", "pending"),
    ),
    (
        "No exported address is on the suppression list",
        set_value("email_audience", "is_suppressed", True),
    ),
    (
        "Every exported address is a valid email address",
        set_value("email_audience", "email", "a at x.test"),
    ),
    (
        "No destination's audience holds a person without every consent",
        add_row(
            "destination_breaches",
            {
                "destination": "sms",
                "customer_key": "k1",
                "problem": "sms marketing consent not granted",
            },
        ),
    ),
    (
        "No erased person remains",
        add_row("erased_people_present", {"found_in": "customer_tags", "customer_key": "k9"}),
    ),
    (
        "No erased person's address is in any export file",
        add_row("erased_in_export_files", {"file": "changes.csv", "identifier_sha256": "ab" * 32}),
    ),
    (
        "The change set about to leave removes everyone",
        add_row("unsent_removes", {"destination": "email", "key": "gone@x.test"}),
    ),
    (
        "No segment of 100 or more members changed size",
        set_value("segment_size_changes", "change_share", 0.8),
    ),
    (
        "No feature's mean moved by more than 0.5 standard deviations",
        set_value("feature_shifts", "shift_in_sd", 0.7),
    ),
    (
        "No population mean of the model's fit",
        set_value("population_mean_changes", "change_share", 0.9),
    ),
]
# The default thresholds, whatever this shell's TAGWISE_* say.
SETTINGS = GateSettings.from_env(Settings.model_construct())
CHECKS = checks(SETTINGS, ACTIVE, RETIRED)


def test_every_check_is_exercised_by_a_mistake():
    for check in CHECKS:
        assert any(check.description.startswith(prefix) for prefix, _ in MISTAKES), (
            check.description
        )


# A GX expectation and the dbt tests (or contract constraints) that would say the same.
SAME_RULE = {
    "ExpectColumnValuesToBeBetween": {"between", "accepted_range"},
    "ExpectColumnValuesToBeUnique": {"unique", "unique_key"},
    "ExpectColumnValuesToNotBeNull": {"not_null"},
    "ExpectColumnValuesToBeInSet": {"accepted_values"},
}


def test_no_gate_check_restates_a_dbt_test():
    """One home per rule: a row rule dbt tests in the warehouse is not checked again by
    the gate, which keeps what dbt cannot see (what leaves, changes since the last release)."""
    from tagwise.orchestration.dbt.project import manifest

    project = manifest()
    in_dbt: set[tuple[str, str, str]] = set()
    for node in project["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            model = (node.get("attached_node") or "").split(".")[-1]
            column = node.get("column_name") or ""
            in_dbt.add((model, column, node["test_metadata"]["name"]))
        if node["resource_type"] == "model":
            for column in node["columns"].values():
                for constraint in column.get("constraints", []):
                    in_dbt.add((node["name"], column["name"], constraint["type"]))
    assert ("customer_features", "r_score", "between") in in_dbt
    restated = [
        check.description
        for check in CHECKS
        for same in SAME_RULE.get(type(check.expectation).__name__, set())
        if (check.dataset, getattr(check.expectation, "column", ""), same) in in_dbt
    ]
    assert not restated, restated


def test_good_datasets_pass_every_check(tmp_path):
    outcomes, docs = validate(good(), CHECKS, tmp_path, "as-of-2026-06-30")
    assert [o.check.description for o in outcomes if not o.success] == []
    assert docs.exists()
    # Each run is named by its as-of date in Data Docs, not GX's `__none__`.
    pages = list((docs.parent / "validations").rglob("*.html"))
    assert pages and {p.parents[1].name for p in pages} == {"as-of-2026-06-30"}
    assert "__none__" not in docs.read_text()


def test_data_docs_open_offline_with_their_tables_styles_and_icons(tmp_path, browser):
    """GX's pages load their scripts and styles from CDNs and render blank offline; the
    pages tagwise writes use the copies shipped with it, checked as a person sees them."""
    from tagwise.data_docs import REMOTE_RESOURCE, make_offline

    frames = good()
    MISTAKES[0][1](frames)  # one failed expectation, so its page shows a failure
    _, docs = validate(frames, CHECKS, tmp_path, "as-of-2026-06-30")
    site = docs.parent
    assert make_offline(site) == []
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not REMOTE_RESOURCE.search(text), page
        assert "great-expectations-web-assets" not in text, page
    index = browser.render(docs, tmp_path / "index.png")
    # bootstrap-table (jQuery, offline) drew the list of runs from its inline data.
    assert 'class="bootstrap-table' in index
    assert index.count("as-of-2026-06-30") >= len({c.suite for c in CHECKS})
    # Font Awesome's status icons in Bootstrap's colours: green passed, red failed.
    assert browser.pixels_near(tmp_path / "index.png", SUCCESS_GREEN) > 300
    assert browser.pixels_near(tmp_path / "index.png", DANGER_RED) > 10
    prefix, mistake = MISTAKES[0]
    (failed,) = (site / "validations").glob(f"*__{mistake.dataset}/as-of-2026-06-30/*/*.html")
    page = browser.render(failed, tmp_path / "failed.png")
    assert prefix in page
    assert re.search(r"Status:.*?(Failed|Succeeded)", page, re.DOTALL).group(1) == "Failed"
    assert browser.pixels_near(tmp_path / "failed.png", DANGER_RED) > 10


SUCCESS_GREEN, DANGER_RED = (40, 167, 69), (220, 53, 69)


def test_data_docs_keep_the_newest_results_of_each_checkpoint(tmp_path):
    from tagwise.quality import prune_validations

    uncommitted = tmp_path / "gx" / "uncommitted"
    stores = (uncommitted / "validations", uncommitted / "data_docs" / "local_site" / "validations")
    for store in stores:
        for day in range(1, 6):
            run = (
                store
                / "tags__customer_tags"
                / f"as-of-2026-06-0{day}"
                / f"2026060{day}T060000.000000Z"
            )
            run.mkdir(parents=True)
            (run / "result.json").write_text("{}")
        (store / ".ge_store_backend_id").write_text("id")
    assert prune_validations(uncommitted, keep=2) == 6
    for store in stores:
        kept = sorted(p.name for p in (store / "tags__customer_tags").iterdir())
        assert kept == ["as-of-2026-06-04", "as-of-2026-06-05"]
        assert (store / ".ge_store_backend_id").exists()


@pytest.mark.parametrize(("prefix", "mistake"), MISTAKES, ids=[m[0][:60] for m in MISTAKES])
def test_each_mistake_fails_its_check(tmp_path, prefix, mistake):
    frames = good()
    mistake(frames)
    affected = [c for c in CHECKS if c.dataset == mistake.dataset]
    outcomes, _ = validate({mistake.dataset: frames[mistake.dataset]}, affected, tmp_path, "test")
    failed = [o for o in outcomes if not o.success]
    assert any(o.check.description.startswith(prefix) for o in failed), [
        o.check.description for o in failed
    ]


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    """Two customers; C1 has granted email marketing consent and is in the audience. Built
    once for the module: each test writes to a copy (`built`)."""
    root = tmp_path_factory.mktemp("built")
    landing, warehouse = Landing(root / "landing"), root / "warehouse.duckdb"
    landing.minimal()
    landing.write(
        "customers",
        "c2.csv",
        "customer_id,email,signup_at,updated_at\nC2,b@x.test,2025-01-01,2025-01-01",
    )
    landing.write(
        "consent_events",
        "k.csv",
        "event_id,customer_id,email,channel,purpose,status,method,occurred_at\nK1,C1,,email,marketing,granted,form,2025-01-01\nK2,C2,,email,marketing,pending,double_opt_in,2025-01-01",
    )
    ingest(landing.root, warehouse)
    assert build_as_of(warehouse, AS_OF).success
    return warehouse


@pytest.fixture
def built(built_once, warehouse) -> Path:
    """A copy of the module's build, for one test to change."""
    shutil.copyfile(built_once, warehouse)
    return warehouse


def _release(warehouse, exports):
    """The release job (gate, export, publish) on the built warehouse."""
    return run_pipeline(
        {"warehouse": str(warehouse), "exports": str(exports)}, AS_OF, job="release"
    )


def test_a_planted_consent_violation_never_reaches_an_export_file(built, tmp_path):
    exports = tmp_path / "exports"
    with duckdb.connect(str(built)) as con:  # b@x.test has only a pending double opt-in
        con.execute(
            "insert into marts.email_audience select 'b@x.test', first_name, last_name, primary_segment, audiences, tags, updated_on from marts.email_audience"
        )
    blocked = _release(built, exports)
    assert not blocked.success
    assert "granted email marketing consent" in blocked.gates["email_audience"]["failures"]
    assert blocked.exports == {} and blocked.published is None
    assert not exports.exists() or "b@x.test" not in "".join(
        p.read_text() for p in exports.rglob("*") if p.is_file()
    )
    assert not (built.parent / "published.duckdb").exists()
    with duckdb.connect(str(built), read_only=True) as con:
        assert con.execute("select count(*) from export.syncs").fetchone()[0] == 0
        stored = con.execute(
            "select count(*), count(*) filter (where not success) from quality.validation_results"
        ).fetchone()
    assert stored[0] == sum(g["expectations"] for g in blocked.gates.values()) and stored[1] >= 1
    assert Path(blocked.gates["email_audience"]["data_docs"]).exists()


def test_a_person_without_sms_consent_planted_in_the_sms_audience_fails_the_gate(built, tmp_path):
    """Issue 41: the gate checked consent for the email audience only. A fault upstream
    (here: eligibility says yes, the audience has the row) that puts C1, who never
    granted sms marketing consent, into the sms audience fails `tagwise validate`, naming
    the check and the destination; the email audience alone still passes."""
    from click.testing import CliRunner

    from tagwise.cli import main

    def validate_output() -> tuple[int, str]:
        result = CliRunner().invoke(
            main, ["validate", "--warehouse", str(built), "--exports", str(tmp_path / "exports")]
        )
        return result.exit_code, result.output

    assert validate_output()[0] == 0
    with duckdb.connect(str(built)) as con:
        (customer_key,) = con.execute(
            "select customer_key from marts.dim_customers where email = 'a@x.test'"
        ).fetchone()
        con.execute(
            "insert into restricted.destination_eligibility (destination, customer_key, key, "
            "is_eligible) values ('sms', ?, '+15551230001', true)",
            [customer_key],
        )
        con.execute(
            "insert into marts.destination_audiences (destination, key) "
            "values ('sms', '+15551230001')"
        )
    exit_code, output = validate_output()
    assert exit_code == 1
    flat = " ".join(output.split())
    assert "[privacy/destination_breaches] No destination's audience holds a person" in flat
    assert "'destination': 'sms'" in flat and "sms marketing consent not granted" in flat


def test_a_warning_is_reported_and_does_not_block(built, tmp_path, setting):
    exports = tmp_path / "exports"
    setting("TAGWISE_MAX_TAGS_PER_CUSTOMER", "0")
    released = _release(built, exports)
    assert released.success and released.gate_passed
    assert released.gates["customer_tags"]["warned"] >= 1
    assert released.exports["email"]["adds"] == 1
    assert "a@x.test" in Path(released.exports["email"]["files"][0]).read_text()
    assert Path(released.published["path"]).exists()


def test_erased_addresses_are_found_in_any_csv_cell_except_remove_rows(tmp_path):
    folder = tmp_path / "email"
    folder.mkdir()
    (folder / "changes.csv").write_text(
        "sync_id,email,change,first_name\r\n"
        "s1,gone@x.test,remove,\r\n"
        's1,kept@x.test,add,"Ann, ""the""\r\nsecond line"\r\n'
        "s1,gone2@x.test,update,Bo\r\n"
    )
    (folder / "audience.csv").write_text("email,first_name\r\ngone@x.test,Cy\r\n")
    found = erased_in_export_files({sha256("gone@x.test"), sha256("gone2@x.test")}, tmp_path)
    assert sorted(
        zip(found["file"].map(lambda f: Path(f).name), found["identifier_sha256"], strict=True)
    ) == [
        ("audience.csv", sha256("gone@x.test")),
        ("changes.csv", sha256("gone2@x.test")),
    ]
    assert erased_in_export_files(set(), tmp_path).empty


def test_datasets_reach_gx_as_int64_float64_and_text():
    """GX compares int64 and float64 columns in one vectorized step, other numbers value by
    value: decimals and integers holding nulls arrive as float64, other integers as int64."""
    with duckdb.connect() as con:
        frame = dataset_frame(
            con,
            "select * from (values (1::integer, 2::tinyint, 3.50::decimal(18, 2), 'a', "
            "date '2026-06-30'), (null, 4, null, null, null)) as t(score, n, revenue, key, day)",
        )
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "score": "float64",
        "n": "int64",
        "revenue": "float64",
        "key": "str",
        "day": "datetime64[ms]",
    }
    assert frame["revenue"].tolist()[0] == 3.5 and pd.isna(frame["key"][1])


def test_population_mean_changes_compare_the_latest_fit_of_each_date():
    """The build's fit against the last release's, each the newest fit of its date; a date
    where nothing was fitted (`none`, no value) compares nothing."""
    from tagwise.quality import _dataset_sql

    with duckdb.connect() as con:
        con.execute("create schema model; create schema marts; create schema quality")
        con.execute("create table marts.build_info as select date '2026-07-01' as as_of_date")
        con.execute("create table quality.releases as select date '2026-06-30' as as_of_date")
        con.execute(
            "create table quality.last_good_feature_stats as select 'orders_90d' as feature,"
            " 1.0 as mean, 1.0 as sd, 5000 as customers, date '2026-06-30' as as_of_date"
        )
        con.execute(
            """create table model.fit_parameters as select * from (values
            (date '2026-06-30', timestamp '2026-06-30 06:00', 'mean_weekly_purchase_rate', 0.9),
            (date '2026-06-30', timestamp '2026-06-30 07:00', 'mean_weekly_purchase_rate', 0.25),
            (date '2026-06-30', timestamp '2026-06-30 07:00', 'mean_order_value', 50.0),
            (date '2026-06-30', timestamp '2026-06-30 07:00', 'gamma_gamma_p', 3.0),
            (date '2026-07-01', timestamp '2026-07-01 06:00', 'mean_weekly_purchase_rate', 0.30),
            (date '2026-07-01', timestamp '2026-07-01 06:00', 'mean_order_value', 100.0),
            (date '2026-07-01', timestamp '2026-07-01 06:00', 'gamma_gamma_p', 3000000.0),
            (date '2026-07-01', timestamp '2026-07-01 06:00', 'none', null)
            ) as t(as_of_date, fitted_at, parameter, value)"""
        )
        frame = dataset_frame(con, _dataset_sql("population_mean_changes", SETTINGS))
        con.execute("update quality.last_good_feature_stats set customers = 999")
        too_few = dataset_frame(con, _dataset_sql("population_mean_changes", SETTINGS))
    rows = sorted(frame[["parameter", "value", "last_good_value"]].itertuples(index=False))
    # Raw parameters are not compared: Gamma-Gamma's p alone may jump while its means hold.
    assert [tuple(r) for r in rows] == [
        ("mean_order_value", 100.0, 50.0),
        ("mean_weekly_purchase_rate", 0.30, 0.25),
    ]
    assert sorted(frame["change_share"].round(3)) == [0.2, 1.0]
    # Fits of fewer customers than TAGWISE_MIN_CUSTOMERS_FOR_DRIFT (1000) swing freely.
    assert too_few.empty


def test_a_feature_that_jumps_since_the_last_release_blocks_the_next(built, tmp_path, setting):
    exports = tmp_path / "exports"
    setting("TAGWISE_MIN_CUSTOMERS_FOR_DRIFT", "2")  # the built warehouse has two customers
    assert _release(built, exports).success
    with duckdb.connect(str(built), read_only=True) as con:
        recorded = dict(
            con.execute("select feature, sd from quality.last_good_feature_stats").fetchall()
        )
    assert "customer_key" not in recorded and "orders_90d" in recorded
    # A broken input as the gate sees it: the most spread feature moves by 3 of its
    # standard deviations (in whole units, so that integer features take it too).
    feature, sd = max(recorded.items(), key=lambda item: item[1] or 0)
    assert sd > 0
    with duckdb.connect(str(built)) as con:
        con.execute(
            f"update marts.customer_features set {feature} = {feature} + {math.ceil(3 * sd)}"
        )
    blocked = _release(built, exports)
    assert not blocked.success
    failures = blocked.gates["segment_membership"]["failures"]
    assert "No feature's mean moved" in failures and feature in failures
    # Below TAGWISE_MIN_CUSTOMERS_FOR_DRIFT the same move is noise, not a broken input.
    setting("TAGWISE_MIN_CUSTOMERS_FOR_DRIFT", None)
    assert _release(built, exports).success


def test_a_prediction_for_a_profiling_objector_stops_the_release(built, tmp_path):
    """SPEC 3.10: no propensity row for someone whose profiling consent is withdrawn. A
    fault upstream that publishes one (here: C1 objects, and a row of theirs is planted in
    the mart) fails the gate: nothing is exported or published."""
    exports = tmp_path / "exports"
    with duckdb.connect(str(built)) as con:
        (customer_key,) = con.execute(
            "select customer_key from marts.dim_customers where email = 'a@x.test'"
        ).fetchone()
        con.execute(
            "insert into restricted.int_privacy__profiling_objections (customer_key) values (?)",
            [customer_key],
        )
        con.execute(
            "insert into marts.customer_category_propensity values "
            "(?, 'books-mystery', 0.7, 1, true, 'bought it', 'v', ?)",
            [customer_key, AS_OF],
        )
    blocked = _release(built, exports)
    assert not blocked.success
    assert (
        "No predicted interest for a customer who withdrew profiling consent"
        in (blocked.gates["customer_category_propensity"]["failures"])
    )
    assert blocked.exports == {} and blocked.published is None


def test_a_lookalike_member_who_objected_to_profiling_stops_the_release(built, tmp_path):
    """SPEC 3.10: a customer whose profiling consent is withdrawn is in no lookalike
    audience. A fault upstream that puts one there (C1 objects and is planted in the shipped
    catalog's like-champions) fails the gate: nothing is exported or published."""
    exports = tmp_path / "exports"
    with duckdb.connect(str(built)) as con:
        (customer_key,) = con.execute(
            "select customer_key from marts.dim_customers where email = 'a@x.test'"
        ).fetchone()
        con.execute(
            "insert into restricted.int_privacy__profiling_objections (customer_key) values (?)",
            [customer_key],
        )
        con.execute(
            "insert into marts.segment_membership (customer_key, segment, segment_type, "
            "definition_version, destinations, member_since, reason, is_holdout, as_of_date) "
            "values (?, 'like-champions', 'audience', 'v', '|', ?, 'like segment champions', false, ?)",
            [customer_key, AS_OF, AS_OF],
        )
    blocked = _release(built, exports)
    assert not blocked.success
    assert (
        "No lookalike audience holds a customer who withdrew profiling consent"
        in (blocked.gates["segment_membership"]["failures"])
    )
    assert blocked.exports == {} and blocked.published is None
