{#- The identity catalog's probabilistic rule's pairs of this build (model.identity_matches,
    written by the identity step as of D) at or above its threshold; none without the rule. -#}
{%- set probabilistic = tagwise.identity_catalog().probabilistic or {} -%}
select
    customer_id,
    linked_customer_id,
    rule,
    match_probability,
    matched_values
from {{ source('model', 'identity_matches') }}
where
    {{ "true" if probabilistic else "false" }}
    and rule = {{ tagwise.string_literal(probabilistic.get("rule", "")) }}
    and as_of_date = {{ tagwise.as_of_date() }}
    and match_probability >= {{ probabilistic.get("threshold", 1) }}
