{#- Current tags as of D (SPEC 3.4), with the first as-of date of the current streak. -#}
with current_tags as (
    select * from {{ ref('int_tags__current') }}
),

open_history as (
    select * from {{ ref('customer_tag_history') }}
    where valid_to is null
)

select
    current_tags.customer_key,
    current_tags.tag,
    current_tags.category,
    current_tags.source,
    current_tags.rule_version,
    current_tags.evidence,
    current_tags.actor,
    open_history.valid_from as tagged_since,
    {{ tagwise.as_of_date() }} as as_of_date
from current_tags
inner join open_history
    on
        current_tags.customer_key = open_history.customer_key
        and current_tags.tag = open_history.tag
        and current_tags.source = open_history.source
