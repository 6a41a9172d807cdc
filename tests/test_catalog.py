"""Tag catalog validation: each kind of mistake stops the run with a message naming the tag."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tagwise.activation.kinds import destination_kinds
from tagwise.catalog import (
    TAG_INPUTS_DOC,
    CatalogError,
    Vocabulary,
    check_destination_catalog,
    check_segment_catalog,
    check_tag_catalog,
    destination_problems,
    documented_columns,
    segment_problems,
    selectable_names,
    tag_rule_problems,
)
from tagwise.cli import main

VOCABULARY = Vocabulary(
    tags={
        "loyal-customer": {"status": "active", "replaced_by": ""},
        "decision-maker": {"status": "active", "replaced_by": ""},
        "big-spender": {"status": "deprecated", "replaced_by": "high-value"},
        "high-value": {"status": "active", "replaced_by": ""},
        "likely-<category>-buyer": {"status": "active", "replaced_by": ""},
    },
    synonyms={"vip": "high-value"},
)
COLUMNS = {"orders_90d", "job_title", "revenue_365d", "open_rate_90d"}
GOOD = {
    "tag": "loyal-customer",
    "when": "orders_90d >= 3",
    "evidence": "{orders_90d} orders in 90 days",
}


def problems(*rules: dict) -> list[str]:
    return tag_rule_problems(list(rules), VOCABULARY, COLUMNS)


def test_the_shipped_catalog_is_valid():
    assert check_tag_catalog() == 17


def test_the_rule_inputs_are_documented_column_by_column():
    columns = documented_columns(TAG_INPUTS_DOC, "int_tags__inputs")
    assert {"orders_90d", "revenue_365d_cume_dist", "job_title", "p_alive"} <= columns


def test_a_good_rule_has_no_problem():
    assert problems(GOOD) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"tag": "loyalist"},
            "tag loyalist: is not in the taxonomy (seeds/tag_taxonomy.csv); add it there first",
        ),
        (
            {"tag": "big-spender"},
            "tag big-spender: is deprecated in the taxonomy, replaced by high-value",
        ),
        ({"tag": "vip"}, "tag vip: is a synonym of high-value; define the rule on that tag"),
        (
            {"when": "order_count >= 3"},
            "tag loyal-customer: unknown column(s) in `when`: order_count",
        ),
        ({"when": "orders_90d >= "}, "tag loyal-customer: invalid SQL in `when`"),
        (
            {"when": "orders_90d >= 3 group by 1"},
            "tag loyal-customer: invalid SQL in `when`: it must be a single condition",
        ),
        (
            {"when": "regexp_matches(job_title, 'ceo')"},
            "tag loyal-customer: function(s) not allowed in `when`: regexp_matches",
        ),
        (
            {"when": "orders_90d in (select 1)"},
            "tag loyal-customer: `when` may not contain a subquery",
        ),
        ({"when": ""}, "tag loyal-customer: `when` must be a non-empty SQL condition"),
        ({"evidence": "a loyal customer"}, "tag loyal-customer: `evidence` names no {column}"),
        (
            {"evidence": "{orders_count} orders"},
            "tag loyal-customer: unknown column(s) in `evidence`: orders_count",
        ),
        (
            {"evidence": "{orders_90d:percent} orders"},
            "tag loyal-customer: unknown format(s) in `evidence`: percent",
        ),
        ({"evidence": "{orders_90d} orders {"}, "tag loyal-customer: `evidence` has a brace"),
        ({"source": "guess"}, "tag loyal-customer: source must be one of model, rule"),
        (
            {"unless": ["nobody"]},
            "tag loyal-customer: `unless` names nobody, which no rule defines",
        ),
        ({"whenn": "x"}, "tag loyal-customer: unknown key(s) whenn"),
    ],
)
def test_each_mistake_names_the_tag_and_the_problem(change, message):
    found = problems(GOOD | change)
    assert any(p.startswith(message) for p in found), found


def test_a_duplicate_definition_is_reported_once():
    found = problems(GOOD, GOOD | {"when": "orders_90d >= 4"})
    assert found == ["tag loyal-customer: defined 2 times; a tag has one definition"]


def test_every_problem_is_reported_at_once(tmp_path):
    catalog = tmp_path / "tag_catalog.yml"
    catalog.write_text(
        "version: 2\nmodels:\n  - name: int_tags__rule_matches\n    config:\n      meta:\n        rules:\n"
        "          - {tag: loyalist, when: 'orders_90d >= 3', evidence: '{orders_90d}'}\n"
        "          - {tag: high-value, when: 'nonsense > 1', evidence: '{revenue_365d}'}\n"
    )
    with pytest.raises(CatalogError) as caught:
        check_tag_catalog(catalog=catalog)
    assert len(caught.value.problems) == 2
    assert "tag loyalist" in str(caught.value) and "tag high-value" in str(caught.value)


def test_check_command_exits_0_when_valid():
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0
    assert "17 rules valid" in result.output


SEGMENTS = {
    "primary": [
        {"segment": "champions", "when": "has_tag('high-value') and orders_90d >= 3"},
        {"segment": "everyone", "when": "true"},
    ],
    "audiences": [{"audience": "job-seekers", "when": "job_title is not null"}],
    "generated": [{"prefix": "fans-", "column": "job_title"}],
}


def segment_problems_of(change: dict) -> list[str]:
    return segment_problems(SEGMENTS | change, VOCABULARY, COLUMNS)


def test_the_shipped_segment_catalog_is_valid():
    assert check_segment_catalog() == 17


def test_a_good_segment_catalog_has_no_problem():
    assert segment_problems_of({}) == []


def test_a_lookalike_grows_a_tag_a_segment_or_an_audience_and_destinations_may_select_it():
    lookalikes = [
        {"audience": "like-champions", "seed": {"segment": "champions"}, "size": 100},
        {"audience": "like-seekers", "seed": {"audience": "job-seekers"}, "min_score": 0.5},
        {"audience": "like-loyal", "seed": {"tag": "loyal-customer"}, "size": 10},
        {"audience": "like-launch", "seed": {"product": "P61"}, "size": 10},
    ]
    assert segment_problems_of({"lookalikes": lookalikes}) == []
    assert {"like-champions", "like-seekers", "like-loyal"} <= selectable_names(
        SEGMENTS | {"lookalikes": lookalikes}
    )["audiences"]


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("likely-books-mystery-buyer", True),
        ("likely-frozen-pizza-buyer", True),
        ("likely--buyer", False),
        ("likely-buyer", False),
        ("likely-Books-buyer", False),
        ("unlikely-books-buyer", False),
    ],
)
def test_a_segment_may_name_any_tag_of_a_family(tag, valid):
    """likely-<category>-buyer is a family: its tags are the data's categories, unknown to
    the check, so any category name in its place is an active tag."""
    found = segment_problems_of(
        {"audiences": [{"audience": "likely-readers", "when": f"has_tag('{tag}')"}]}
    )
    assert (found == []) is valid, found


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"primary": [{"segment": "champions", "when": "orders_90d >= 3"}]},
            'segment champions: the last primary segment must be `when: "true"`',
        ),
        (
            {
                "primary": [
                    {"segment": "a", "when": "has_tag('vip')"},
                    {"segment": "b", "when": "true"},
                ]
            },
            "segment a: has_tag('vip') names no active tag of the taxonomy",
        ),
        (
            {
                "primary": [
                    {"segment": "a", "when": "has_tag(tag_name)"},
                    {"segment": "b", "when": "true"},
                ]
            },
            "segment a: has_tag takes one quoted tag",
        ),
        (
            {"audiences": [{"audience": "x", "when": "nope > 1"}]},
            "audience x: unknown column(s) in `when`: nope",
        ),
        (
            {"audiences": [{"audience": "champions", "when": "true"}]},
            "segment champions: defined 2 times",
        ),
        (
            {"audiences": [{"audience": "fans-special", "when": "true"}]},
            "audience fans-special: starts with a generated audience's prefix",
        ),
        (
            {"generated": [{"prefix": "fans-", "column": "shoe_size"}]},
            "generated audience fans-: needs a prefix and a column of the inputs",
        ),
        (
            {"generated": [{"prefix": "fans-", "column": "job_title", "min_members": "ten"}]},
            "generated audience fans-: min_members must be a whole number of at least 1, not 'ten'",
        ),
        (
            {"generated": [{"prefix": "fans-", "column": "job_title", "min_member": 10}]},
            "generated audience fans-: unknown key(s) min_member (allowed: column, description, "
            "min_members, prefix)",
        ),
        (
            {"audiences": [{"audience": "x", "when": "true", "holdout": 0.9}]},
            "audience x: holdout must be a share above 0 and at most 0.5",
        ),
        (
            {"audiences": [{"audience": "x", "when": "true", "holdout": "10%"}]},
            "audience x: holdout must be a share above 0 and at most 0.5",
        ),
        (
            {"audiences": [{"audience": "x", "when": "true", "salt": "s1"}]},
            "audience x: has a salt but no holdout",
        ),
        (
            {"audiences": [{"audience": "x", "when": "true", "holdout": 0.1, "salt": "a b"}]},
            "audience x: salt must be 1 to 100 letters",
        ),
        (
            {"audiences": [{"audience": "x", "when": "true", "hold_out": 0.1}]},
            "audience x: unknown key(s) hold_out (allowed: audience, description, holdout, salt, when)",
        ),
        (
            {"destinations": {"email": {"segments": ["champions"]}}},
            "`destinations` moved to the destination catalog",
        ),
        (
            {"lookalikes": [{"audience": "like-x", "seed": {"segment": "nobody"}, "size": 9}]},
            "lookalike like-x: seed segment 'nobody' is not a segment of this catalog",
        ),
        (
            {"lookalikes": [{"audience": "like-x", "seed": {"tag": "vip"}, "size": 9}]},
            "lookalike like-x: seed tag 'vip' is no active tag of the taxonomy",
        ),
        (
            {"lookalikes": [{"audience": "like-x", "seed": "champions", "size": 9}]},
            "lookalike like-x: seed must name one tag, segment, audience or product",
        ),
        (
            {
                "lookalikes": [
                    {
                        "audience": "like-x",
                        "seed": {"segment": "champions", "tag": "vip"},
                        "size": 9,
                    }
                ]
            },
            "lookalike like-x: seed must name one tag, segment, audience or product",
        ),
        (
            {"lookalikes": [{"audience": "like-x", "seed": {"product": "P1' or 1=1"}, "size": 9}]},
            'lookalike like-x: seed product "P1\' or 1=1" is no product id',
        ),
        (
            {"lookalikes": [{"audience": "like-x", "seed": {"segment": "champions"}}]},
            "lookalike like-x: needs either `size`",
        ),
        (
            {
                "lookalikes": [
                    {
                        "audience": "like-x",
                        "seed": {"segment": "champions"},
                        "size": 9,
                        "min_score": 0.5,
                    }
                ]
            },
            "lookalike like-x: needs either `size`",
        ),
        (
            {"lookalikes": [{"audience": "like-x", "seed": {"segment": "champions"}, "size": 0}]},
            "lookalike like-x: size must be a whole number of at least 1, not 0",
        ),
        (
            {
                "lookalikes": [
                    {"audience": "like-x", "seed": {"segment": "champions"}, "min_score": 1.5}
                ]
            },
            "lookalike like-x: min_score must be a probability above 0 and below 1, not 1.5",
        ),
        (
            {
                "lookalikes": [
                    {"audience": "job-seekers", "seed": {"segment": "champions"}, "size": 9}
                ]
            },
            "lookalike job-seekers: the name is defined more than once",
        ),
        (
            {"lookalikes": [{"audience": "Like X", "seed": {"segment": "champions"}, "size": 9}]},
            "lookalike 'Like X': ",
        ),
        (
            {
                "lookalikes": [
                    {"audience": "like-x", "seed": {"segment": "champions"}, "size": 9, "sise": 1}
                ]
            },
            "lookalike like-x: unknown key(s) sise",
        ),
    ],
)
def test_each_segment_mistake_names_the_segment_and_the_problem(change, message):
    found = segment_problems_of(change)
    assert any(p.startswith(message) for p in found), found


SELECTABLE = selectable_names(SEGMENTS)
SMS = {
    "destination": "sms",
    "kind": "sms",
    "consent": [["sms", "marketing"]],
    "selects": {"segments": ["champions"], "audiences": ["job-seekers"], "generated": ["fans-"]},
    "fields": ["first_name", "primary_segment"],
}


def destination_problems_of(**change) -> list[str]:
    return destination_problems({"destinations": [SMS | change]}, SELECTABLE)


def test_the_shipped_destination_catalog_is_valid_and_has_every_kind():
    shipped = check_destination_catalog()
    # Meta's kind is tested on crafted catalogs; ads_hashed is the older name of Google's.
    assert {d["kind"] for d in shipped} == set(destination_kinds()) - {
        "meta_custom_audience",
        "ads_hashed",
    }
    assert shipped[0]["destination"] == "email"


def test_a_good_destination_has_no_problem():
    assert destination_problems_of() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"kind": "fax"},
            "destination sms: kind 'fax' is not one of email, webhook, sms, google_customer_match",
        ),
        (
            {"consent": [["email", "marketing"]]},
            "destination sms: consent must include [sms, marketing]",
        ),
        (
            {"consent": "sms"},
            "destination sms: `consent` must be a list of [channel, purpose] pairs",
        ),
        (
            {"consent": [["sms", "marketing"], ["pigeon", "marketing"]]},
            "destination sms: consent [pigeon, marketing]: channel is one of email, sms, phone, any",
        ),
        (
            {"selects": {"segments": ["vips"]}},
            "destination sms: selects vips, which no segment of the segment catalog defines",
        ),
        ({"selects": {"lists": ["x"]}}, "destination sms: selects: unknown key lists"),
        ({"selects": {}}, "destination sms: `selects` must map"),
        (
            {"fields": ["last_name"]},
            "destination sms: field last_name is not sent to a sms destination",
        ),
        ({"fields": ["tags", "tags"]}, "destination sms: field tags is listed 2 times"),
        ({"hold_share": 1.5}, "destination sms: `hold_share` must be a number above 0"),
        ({"hold_min_people": -1}, "destination sms: `hold_min_people` must be a whole number"),
        ({"url": "http://x"}, "destination sms: unknown key url"),
        ({"destination": "SMS"}, "destination entry 1: destination name 'SMS' is not"),
        # Issue 40, item 23: passed check, then every run failed on the table it named.
        ({"destination": "my-crm"}, "destination entry 1: destination name 'my-crm' is not a"),
        ({"destination": "1crm"}, "destination entry 1: destination name '1crm' is not a"),
        (
            {"destination": "email", "kind": "sms"},
            "destination email: feeds the email_audience table, so its kind must be email",
        ),
    ],
)
def test_each_destination_mistake_names_the_destination_and_the_problem(change, message):
    found = destination_problems_of(**change)
    assert any(p.startswith(message) for p in found), found


def test_an_ads_destination_sends_no_clear_text_and_needs_profiling_consent():
    ads = SMS | {"destination": "ads", "kind": "ads_hashed", "consent": [["email", "marketing"]]}
    found = destination_problems({"destinations": [ads]}, SELECTABLE)
    assert (
        "destination ads: consent must include [any, profiling]: no destination of its kind may go without it"
        in found
    )
    assert any(
        p.startswith("destination ads: field first_name is not sent to a ads_hashed") for p in found
    )


def test_a_destination_defined_twice_is_named_once():
    found = destination_problems({"destinations": [SMS, SMS]}, SELECTABLE)
    assert found == ["destination sms: defined 2 times; a name has one definition"]


def test_the_check_command_counts_the_destinations():
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0
    assert "destination catalog: 4 destinations valid" in result.output


def test_a_catalog_beyond_the_documented_number_of_destinations_is_refused():
    """Issue 40, item 25: 10,004 destinations passed check and the run never finished."""
    from tagwise.catalog import MAX_DESTINATIONS

    many = [SMS | {"destination": f"sms_{n}"} for n in range(MAX_DESTINATIONS + 1)]
    assert destination_problems({"destinations": many}, SELECTABLE) == [
        f"the catalog has {MAX_DESTINATIONS + 1} destinations; at most {MAX_DESTINATIONS} are "
        "supported (each is a step of every run, a union branch in dbt and an outbox)"
    ]
    assert destination_problems({"destinations": many[:MAX_DESTINATIONS]}, SELECTABLE) == []
