{#- Why records are one person as of D (SPEC 3.1): each link joins two current customer
    records by a rule of the identity catalog. Records sharing a deterministic rule's values
    are each linked to the first of them (earliest signup, then smallest id), so a group of
    n records has n - 1 links; values shared by more records than the rule's limit link
    none (identity_guarded_values says which). Then the probabilistic rule's pairs of this
    build at or above its threshold (int_identity__probabilistic_matches), but none of a record matched
    with more records than the limit allows. -#}
{%- set catalog = tagwise.identity_catalog() -%}
with records as (
    select * from {{ ref('int_identity__customer_records') }}
),

rule_keys as (
    select * from {{ ref('int_identity__rule_keys') }}
    where records_sharing between 2 and rule_limit
),

grouped as (
    select
        rule_keys.customer_id,
        rule_keys.rule,
        rule_keys.rule_priority,
        rule_keys.matched_values,
        first_value(rule_keys.customer_id) over (
            partition by rule_keys.rule, rule_keys.matched_values
            order by records.signup_at, rule_keys.customer_id
            rows between unbounded preceding and unbounded following
        ) as first_customer_id
    from rule_keys
    inner join records
        on rule_keys.customer_id = records.customer_id
),

matches as (
    select * from {{ ref('int_identity__probabilistic_matches') }}
),

over_linked as (
    {{ tagwise.identity_over_linked_records(catalog) }}
),

deterministic as (
    select
        first_customer_id as customer_id,
        customer_id as linked_customer_id,
        rule,
        rule_priority,
        matched_values,
        cast(null as double) as match_probability
    from grouped
    where customer_id <> first_customer_id
),

probabilistic as (
    select
        customer_id,
        linked_customer_id,
        rule,
        {{ catalog.rules | length + 1 }} as rule_priority,
        matched_values,
        match_probability
    from matches
    where
        customer_id not in (select over_linked.customer_id from over_linked)
        and linked_customer_id not in (select over_linked.customer_id from over_linked)
),

linked as (
    select * from deterministic
    union all
    select * from probabilistic
)

select
    *,
    {{ tagwise.as_of_date() }} as as_of_date
from linked
