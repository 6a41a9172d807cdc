"""The release gate's suites, as code.

Each check validates one dataset (a query over the built warehouse, see datasets()) with one
Great Expectations expectation. Its description is what a person reads when it fails; its
severity says whether a failure blocks publish and export (error) or is only reported
(warning). Cross-table rules are datasets that hold the offending rows, expected empty.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import great_expectations as gx
from great_expectations.expectations import Expectation

from tagwise.dbt import manifest
from tagwise.dbt_project import project_var
from tagwise.model import POPULATION_MEANS
from tagwise.relations import ref, source
from tagwise.settings import Settings, current


@dataclass(frozen=True)
class GateSettings:
    """The gate's thresholds; their defaults and variables are in tagwise.settings."""

    max_tags_per_customer: int
    max_segment_size_change: float
    # Small segments swing by half without anything being wrong; only larger ones count.
    min_segment_size_for_change: int
    max_feature_shift: float
    max_population_mean_change: float
    # Means and fits of a few customers swing without anything being wrong.
    min_customers_for_drift: int

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> GateSettings:
        """The thresholds of these settings, else of this process's (tagwise.settings)."""
        settings = settings or current()
        return cls(
            settings.max_tags_per_customer,
            settings.max_segment_size_change,
            settings.min_segment_size_for_change,
            settings.max_feature_shift,
            settings.max_population_mean_change,
            settings.min_customers_for_drift,
        )


@dataclass(frozen=True)
class Check:
    suite: str
    dataset: str
    severity: str  # error or warning
    expectation: Expectation
    # The column saying what a row is about, shown beside each unexpected value.
    subject: str | None = None

    @property
    def description(self) -> str:
        return self.expectation.description or type(self.expectation).__name__


TAG_SOURCES = ("rule", "model", "manual")


# The dbt data types of numeric columns (customer_features' contract declares every column's).
NUMERIC_TYPES = ("bigint", "integer", "double", "decimal")


@functools.cache
def drift_features() -> tuple[str, ...]:
    """The numeric columns of customer_features: each one's distribution is compared with
    the last good release's, so a new feature column is watched without being listed."""
    columns = manifest()["nodes"]["model.tagwise.customer_features"]["columns"].values()
    return tuple(c["name"] for c in columns if (c.get("data_type") or "").startswith(NUMERIC_TYPES))


def lookalike_names_sql() -> str:
    """The lookalike audiences of the built project's segment catalog, as SQL literals (a
    null when there are none, which matches no segment)."""
    meta = manifest()["nodes"]["model.tagwise.int_segments__assignments"]["config"]["meta"]
    names = [d["audience"] for d in meta.get("lookalikes") or []]
    return ", ".join(f"'{name}'" for name in names) or "null"


@functools.cache
def feature_stats_sql() -> str:
    """One row per drift feature: its mean and population standard deviation over the
    customers counted, in one scan of customer_features (the gate reads it now; the
    release records it)."""
    stats = ",\n            ".join(
        f"avg(cast({c} as double)) as {c}__mean, stddev_pop(cast({c} as double)) as {c}__sd"
        for c in drift_features()
    )
    rows = "\n        union all ".join(
        f"select '{c}' as feature, {c}__mean as mean, {c}__sd as sd, customers from stats"
        for c in drift_features()
    )
    return f"""
        with stats as (
            select count(*) as customers,
            {stats}
            from {ref("customer_features")})
        {rows}"""


def _is_sha256_hex(column: str) -> str:
    """SQL true when the column is 64 lower-case hex digits (portable to Spark SQL)."""
    return f"(length({column}) = 64 and translate({column}, '0123456789abcdef', '') = '')"


def destination_breaches_sql() -> str:
    """Every row of every destination's audience that its catalog entry forbids (SPEC 3.7):
    a key no eligible customer holds, a required (channel, purpose) consent not granted
    (`any`: withdrawn on a channel), suppression for a destination keyed by address, an
    erased person, a clear-text identifier where the kind sends hashes. Checked afresh
    from the consent, suppression and erasure tables, not from the reasons eligibility
    gave, so a fault upstream (a catalog, a macro, a model change) stops the release."""
    from tagwise.activation.destinations import destinations

    people = f"""
        with audience as (select destination, key, phone_sha256 from {ref("destination_audiences")}),
        eligible as (
            select destination, key, customer_key from {ref("destination_eligibility")}
            where is_eligible),
        people as (
            select a.destination, a.key, a.phone_sha256, e.customer_key from audience a
            left join eligible e on a.destination = e.destination and a.key = e.key)"""
    rules = [
        "select destination, customer_key, 'no eligible customer holds the key' as problem "
        "from people where customer_key is null",
        f"select destination, customer_key, 'erased' from people where customer_key in "
        f"(select customer_key from {ref('int_identity__erased_people')})",
    ]
    for name, destination in destinations().items():
        kind = destination.traits
        here = f"from people p where p.destination = '{name}' and p.customer_key is not null"
        for channel, purpose in destination.consent:
            if channel == "any":
                rules.append(
                    f"select p.destination, p.customer_key, '{purpose} consent withdrawn on a "
                    f"channel' {here} and p.customer_key in (select customer_key from "
                    f"{ref('consent_state')} where purpose = '{purpose}' and status = 'withdrawn')"
                )
            else:
                rules.append(
                    f"select p.destination, p.customer_key, '{channel} {purpose} consent not "
                    f"granted' {here} and not exists (select 1 from {ref('consent_state')} c "
                    f"where c.customer_key = p.customer_key and c.channel = '{channel}' "
                    f"and c.purpose = '{purpose}' and c.status = 'granted')"
                )
        if kind.identifier == "email":
            rules.append(
                f"select p.destination, p.customer_key, 'suppressed' {here} and exists ("
                f"select 1 from {ref('customer_email_marketability')} m "
                f"join {ref('suppression_list')} s on m.email = s.email "
                "where m.customer_key = p.customer_key)"
            )
        if kind.hashed:
            rules.append(
                f"select p.destination, p.customer_key, 'clear-text identifier at a hashed "
                f"destination' from people p where p.destination = '{name}' and not ("
                f"{_is_sha256_hex('p.key')} and (p.phone_sha256 is null or "
                f"{_is_sha256_hex('p.phone_sha256')}))"
            )
    return people + "\n        " + "\n        union all ".join(rules)


# Every dataset's SQL; {erased} lists the keys of erased people.
@functools.cache
def datasets():
    return {
        "customer_tags": f"""
        select customer_key, tag, source,
            source || case when rule_version is null then ' without' else ' with' end || ' rule_version'
                as rule_version_presence,
            source || case when actor is null then ' without' else ' with' end || ' actor' as actor_presence
        from {ref("customer_tags")}""",
        "tags_per_exclusive_group": f"""
        select t.customer_key, x.exclusive_group, count(*) as tags
        from {ref("customer_tags")} t join {ref("int_tags__vocabulary")} x using (tag)
        where x.exclusive_group is not null group by all""",
        "tags_per_customer": f"select customer_key, count(*) as tags from {ref('customer_tags')} group by all",
        "profiling_tags_of_objectors": f"""
        select t.customer_key, t.tag from {ref("customer_tags")} t
        join {ref("int_tags__vocabulary")} x using (tag)
        join {ref("int_privacy__profiling_objections")} o using (customer_key)
        where x.requires_profiling_consent""",
        "propensity_of_objectors": f"""
        select p.customer_key, p.category from {ref("customer_category_propensity")} p
        join {ref("int_privacy__profiling_objections")} o using (customer_key)""",
        "lookalike_members_of_objectors": f"""
        select m.customer_key, m.segment from {ref("segment_membership")} m
        join {ref("int_privacy__profiling_objections")} o using (customer_key)
        where m.segment in ({lookalike_names_sql()})""",
        "email_audience": f"""
        select a.email, m.is_email_marketable, m.email_marketing_consent, m.suppression_reason,
            s.email is not null as is_suppressed
        from {ref("email_audience")} a
        left join {ref("customer_email_marketability")} m on a.email = m.email
        left join {ref("suppression_list")} s on a.email = s.email""",
        "destination_breaches": destination_breaches_sql(),
        "erased_people_present": f"""
        with erased as (select customer_key from {ref("int_identity__erased_people")}),
        erased_emails as (
            select identifier_sha256 from {source("erasure", "erased_identifiers")}
            where identifier_type = 'email'),
        emails_held_by_others as (
            select identifier from {ref("int_identity__identifiers")}
            where identifier_type = 'email' and is_current
                and customer_key not in (select * from erased))
        select 'dim_customers' as found_in, customer_key from {ref("dim_customers")} where customer_key in (select * from erased)
        union all select 'customer_features', customer_key from {ref("customer_features")} where customer_key in (select * from erased)
        union all select 'customer_tags', customer_key from {ref("customer_tags")} where customer_key in (select * from erased)
        union all select 'customer_tag_history', customer_key from {ref("customer_tag_history")} where customer_key in (select * from erased)
        union all select 'segment_membership', customer_key from {ref("segment_membership")} where customer_key in (select * from erased)
        union all select 'segment_membership_history', customer_key from {ref("segment_membership_history")} where customer_key in (select * from erased)
        union all select 'consent_state', customer_key from {ref("consent_state")} where customer_key in (select * from erased)
        union all select 'customer_predictions', customer_key from {source("model", "customer_predictions")} where customer_key in (select * from erased)
        union all select 'email_audience', email from {ref("email_audience")}
        where sha2(email, 256) in (select * from erased_emails)
            and email not in (select * from emails_held_by_others)""",
        "segment_size_changes": f"""
        select coalesce(current_size.segment, good.segment) as segment, coalesce(current_size.members, 0) as members,
            good.members as last_good_members,
            abs(coalesce(current_size.members, 0) - good.members) / good.members as change_share
        from (select segment, count(*) as members from {ref("segment_membership")} group by all) current_size
        full outer join {source("quality", "last_good_segment_sizes")} good using (segment)
        where good.members >= {{min_segment_size_for_change}}""",
        "feature_shifts": f"""
        with current_stats as ({feature_stats_sql()})
        select current_stats.feature, current_stats.mean, good.mean as last_good_mean,
            good.sd as last_good_sd, abs(current_stats.mean - good.mean) / good.sd as shift_in_sd
        from current_stats join {source("quality", "last_good_feature_stats")} good using (feature)
        where good.sd > 0 and good.customers >= {{min_customers_for_drift}}""",
        # What the fit of the build's date says about the population against what the fit
        # of the last release's date said, each the latest fit of its date; a replay of the
        # released date compares a fit with itself.
        "population_mean_changes": f"""
        with fits as (
            select parameter, value, as_of_date, fitted_at,
                max(fitted_at) over (partition by as_of_date) as last_fitted_at
            from {source("model", "fit_parameters")}
            where value is not null and parameter in ({", ".join(f"'{p}'" for p in POPULATION_MEANS)})),
        latest as (select parameter, value, as_of_date from fits where fitted_at = last_fitted_at),
        current_fit as (
            select parameter, value from latest
            where as_of_date = (select max(as_of_date) from {ref("build_info")})),
        good as (
            select parameter, value from latest
            where as_of_date = (select max(as_of_date) from {source("quality", "releases")}))
        select current_fit.parameter, current_fit.value, good.value as last_good_value,
            abs(current_fit.value - good.value) / abs(good.value) as change_share
        from current_fit join good using (parameter)
        where good.value <> 0 and (
            select max(customers) from {source("quality", "last_good_feature_stats")}
        ) >= {{min_customers_for_drift}}""",
    }


# The mart each dataset's checks guard, and run after: a dataset reads only that mart and
# tables built before it, so its checks can run (and stop what follows) as soon as the mart
# is built. The Dagster asset checks are attached to these marts.
GUARDED_MART = {
    "customer_tags": "customer_tags",
    "tags_per_exclusive_group": "customer_tags",
    "tags_per_customer": "customer_tags",
    "profiling_tags_of_objectors": "customer_tags",
    "propensity_of_objectors": "customer_category_propensity",
    "lookalike_members_of_objectors": "segment_membership",
    "email_audience": "email_audience",
    # Built after destination_audiences, which it reads: every destination's rows.
    "destination_breaches": "email_audience",
    "erased_people_present": "email_audience",
    "erased_in_export_files": "email_audience",
    "unsent_removes": "email_audience",
    "segment_size_changes": "segment_membership",
    # Features and the fit are built before segment_membership; a drift stops what follows.
    "feature_shifts": "segment_membership",
    "population_mean_changes": "segment_membership",
}
GUARDED_MARTS = sorted(set(GUARDED_MART.values()))


def _no_rows(description: str) -> Expectation:
    return gx.expectations.ExpectTableRowCountToEqual(value=0, description=description)


def _present_only_for(column: str, sources: tuple[str, ...], description: str) -> Expectation:
    """The column is set exactly on tags of the given sources: `<column>_presence` reads
    "<source> with <column>" or "<source> without <column>". (One text column checked
    against a set, rather than GX's column-pair check: its pandas version loops over rows
    in Python, 28 of the gate's 31 seconds at 100,000 customers.)"""
    allowed = [f"{s} {'with' if s in sources else 'without'} {column}" for s in TAG_SOURCES]
    return _only(f"{column}_presence", allowed, description)


def _only(column: str, values: list, description: str) -> Expectation:
    return gx.expectations.ExpectColumnValuesToBeInSet(
        column=column, value_set=values, description=description
    )


def _within(column: str, low: float, high: float | None, description: str) -> Expectation:
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=column, min_value=low, max_value=high, description=description
    )


def checks(settings: GateSettings, active_tags: list[str], retired_tags: list[str]) -> list[Check]:
    """Every check of the gate; the arguments come from the warehouse being validated."""
    return [
        # Tag consistency
        Check(
            "tags",
            "customer_tags",
            "error",
            _only("tag", active_tags, "Every tag is an active tag of the taxonomy."),
        ),
        Check(
            "tags",
            "customer_tags",
            "error",
            gx.expectations.ExpectColumnValuesToNotBeInSet(
                column="tag",
                value_set=retired_tags,
                description="No tag is a synonym's alias or a deprecated tag: one name per idea.",
            ),
        ),
        Check(
            "tags",
            "tags_per_exclusive_group",
            "error",
            _within("tags", 1, 1, "No customer holds two tags of one exclusive group."),
        ),
        Check(
            "tags",
            "customer_tags",
            "error",
            _present_only_for(
                "rule_version",
                ("rule", "model"),
                "Every rule and model tag carries its rule_version; manual tags carry none.",
            ),
        ),
        Check(
            "tags",
            "customer_tags",
            "error",
            _present_only_for(
                "actor", ("manual",), "Every manual tag names the person who added it."
            ),
        ),
        Check(
            "tags",
            "tags_per_customer",
            "warning",
            _within(
                "tags",
                1,
                settings.max_tags_per_customer,
                f"No customer holds more than {settings.max_tags_per_customer} tags (too many tags stop meaning anything).",
            ),
        ),
        Check(
            "tags",
            "profiling_tags_of_objectors",
            "error",
            _no_rows("No profiling tag for a customer who withdrew profiling consent."),
        ),
        Check(
            "privacy",
            "propensity_of_objectors",
            "error",
            _no_rows(
                "No predicted interest for a customer who withdrew profiling consent (SPEC 3.10)."
            ),
        ),
        Check(
            "privacy",
            "lookalike_members_of_objectors",
            "error",
            _no_rows(
                "No lookalike audience holds a customer who withdrew profiling consent (SPEC 3.10)."
            ),
        ),
        # Consent and privacy
        Check(
            "privacy",
            "email_audience",
            "error",
            _only("is_email_marketable", [True], "Every exported address is email-marketable."),
        ),
        Check(
            "privacy",
            "email_audience",
            "error",
            _only(
                "email_marketing_consent",
                ["granted"],
                "Every exported address has granted email marketing consent (pending is not enough).",
            ),
        ),
        Check(
            "privacy",
            "email_audience",
            "error",
            _only("is_suppressed", [False], "No exported address is on the suppression list."),
        ),
        Check(
            "privacy",
            "email_audience",
            "error",
            gx.expectations.ExpectColumnValuesToMatchRegex(
                column="email",
                regex=project_var("email_pattern"),
                description="Every exported address is a valid email address.",
            ),
        ),
        Check(
            "privacy",
            "destination_breaches",
            "error",
            _no_rows(
                "No destination's audience holds a person without every consent the "
                "destination requires, a suppressed or erased person, a key no eligible "
                "customer holds, or a clear-text identifier where it sends hashes."
            ),
        ),
        Check(
            "privacy",
            "erased_people_present",
            "error",
            _no_rows("No erased person remains in any customer-level table."),
        ),
        Check(
            "privacy",
            "erased_in_export_files",
            "error",
            _no_rows("No erased person's address is in any export file."),
        ),
        Check(
            "privacy",
            "unsent_removes",
            "error",
            _no_rows(
                "The change set about to leave removes everyone who may be at the destination and is no longer eligible, and only keys tagwise sent."
            ),
        ),
        # Segments
        Check(
            "segments",
            "segment_size_changes",
            "error",
            _within(
                "change_share",
                0,
                settings.max_segment_size_change,
                f"No segment of {settings.min_segment_size_for_change} or more members changed size by more than "
                f"{settings.max_segment_size_change:.0%} since the last good run (a broken rule or a broken input).",
            ),
            subject="segment",
        ),
        # Drift since the last release: what dbt's row tests cannot see.
        Check(
            "drift",
            "feature_shifts",
            "error",
            _within(
                "shift_in_sd",
                0,
                settings.max_feature_shift,
                f"No feature's mean moved by more than {settings.max_feature_shift} standard deviations "
                f"since the last good run of {settings.min_customers_for_drift} or more customers "
                "(a broken or missing input).",
            ),
            subject="feature",
        ),
        Check(
            "drift",
            "population_mean_changes",
            "error",
            _within(
                "change_share",
                0,
                settings.max_population_mean_change,
                f"No population mean of the model's fit (purchase rate, dropout probability, order value) "
                f"changed by more than {settings.max_population_mean_change:.0%} since the last good run of "
                f"{settings.min_customers_for_drift} or more customers (predictions and model tags would jump with it).",
            ),
            subject="parameter",
        ),
    ]
