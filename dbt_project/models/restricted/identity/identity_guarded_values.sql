{#- What the identity catalog's guards kept from merging people as of D, with how many
    source customer ids hold it: blocklisted identifier values, rule values shared by more
    records than the rule's limit (a junk or shared value would otherwise chain them into
    one person), and records the probabilistic rule matched with too many others. -#}
{%- set catalog = tagwise.identity_catalog() -%}
with identifier_values as (
    select * from {{ ref('int_identity__identifier_values') }}
    where blocked_because is not null
),

rule_keys as (
    select * from {{ ref('int_identity__rule_keys') }}
    where records_sharing > rule_limit
),

matches as (
    select * from {{ ref('int_identity__probabilistic_matches') }}
),

over_linked as (
    {{ tagwise.identity_over_linked_records(catalog) }}
),

guarded as (
    select
        'blocklist' as guard,
        identifier as identifier_or_rule,
        identifier_value as guarded_value,
        blocked_because as reason,
        count(distinct customer_id) as source_customer_ids
    from identifier_values
    group by identifier, identifier_value, blocked_because
    union all
    select
        'limit' as guard,
        rule as identifier_or_rule,
        matched_values as guarded_value,
        'shared by more source customer ids than the limit of ' || cast(max(rule_limit) as string)
            as reason,
        max(records_sharing) as source_customer_ids
    from rule_keys
    group by rule, matched_values
    union all
    select
        'limit' as guard,
        {{ tagwise.string_literal((catalog.probabilistic or {}).get("rule", "")) }} as identifier_or_rule,
        'customer_id=' || customer_id as guarded_value,
        'matched with ' || cast(matched_records as string)
        || ' other records, more than the limit allows in one person' as reason,
        matched_records + 1 as source_customer_ids
    from over_linked
)

select
    *,
    {{ tagwise.as_of_date() }} as as_of_date
from guarded
