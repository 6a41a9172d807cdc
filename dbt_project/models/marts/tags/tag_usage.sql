{#- Per active tag as of D: how many customers hold it, what share, how many gained and
    lost it at this as-of date, and whether it is actionable at all (held by nobody, or
    by nearly everybody). A family's tags (likely-<category>-buyer, one per category)
    are listed while someone holds them or lost them at D. -#}
with vocabulary as (
    select * from {{ ref('int_tags__vocabulary') }}
    where status = 'active'
),

customer_tags as (
    select * from {{ ref('customer_tags') }}
),

history as (
    select * from {{ ref('customer_tag_history') }}
),

population as (
    select count(*) as customers from {{ ref('dim_customers') }}
),

holders as (
    select
        tag,
        count(distinct customer_key) as customers
    from customer_tags
    group by tag
),

changes as (
    select
        tag,
        count(distinct case when valid_from = {{ tagwise.as_of_date() }} then customer_key end) as added,
        count(distinct case when valid_to = {{ tagwise.as_of_date() }} then customer_key end) as removed
    from history
    group by tag
)

select
    taxonomy.tag,
    taxonomy.category,
    taxonomy.owner,
    coalesce(holders.customers, 0) as customers,
    case
        when population.customers > 0 then cast(coalesce(holders.customers, 0) as double) / population.customers
    end as share_of_customers,
    coalesce(changes.added, 0) as added,
    coalesce(changes.removed, 0) as removed,
    case
        when coalesce(holders.customers, 0) = 0 then 'held by nobody'
        when cast(holders.customers as double) / population.customers > {{ var('tag_usage_nearly_all', 0.9) }}
            then 'held by nearly everybody'
    end as not_actionable_because,
    {{ tagwise.as_of_date() }} as as_of_date
from vocabulary as taxonomy
cross join population
left join holders
    on taxonomy.tag = holders.tag
left join changes
    on taxonomy.tag = changes.tag
where taxonomy.family_tag is null or holders.tag is not null or changes.removed > 0
