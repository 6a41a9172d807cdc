{#- What the email platform receives (SPEC 3.7): one row per email-marketable customer in
    a segment or audience the catalog's email destination selects. updated_on is the
    latest as-of date on which any of the customer's segments or tags started or ended. -#}
with marketable as (
    select * from {{ ref('customer_email_marketability') }}
    where is_email_marketable
),

customers as (
    select * from {{ ref('dim_customers') }}
),

membership as (
    select * from {{ ref('segment_membership') }}
),

customer_tags as (
    select * from {{ ref('customer_tags') }}
),

selected as (
    select distinct customer_key
    from membership
    where destinations like '%|email|%'
),

primary_segments as (
    select
        customer_key,
        segment as primary_segment
    from membership
    where segment_type = 'primary'
),

selected_audiences as (
    select
        customer_key,
        {{ tagwise.sorted_list_agg('segment') }} as audiences
    from membership
    where segment_type = 'audience' and destinations like '%|email|%'
    group by customer_key
),

tag_lists as (
    select
        customer_key,
        {{ tagwise.sorted_list_agg('tag') }} as tags
    from customer_tags
    group by customer_key
),

changes as (
    select
        customer_key,
        max(greatest(entered_on, coalesce(exited_on, entered_on))) as changed_on
    from {{ ref('segment_membership_history') }}
    group by customer_key
    union all
    select
        customer_key,
        max(greatest(valid_from, coalesce(valid_to, valid_from))) as changed_on
    from {{ ref('customer_tag_history') }}
    group by customer_key
),

last_changes as (
    select
        customer_key,
        max(changed_on) as updated_on
    from changes
    group by customer_key
)

select
    marketable.email,
    customers.first_name,
    customers.last_name,
    primary_segments.primary_segment,
    coalesce(selected_audiences.audiences, '') as audiences,
    coalesce(tag_lists.tags, '') as tags,
    -- No as-of date: a column that changes every day for everyone would make every
    -- diff-based sync tool send the whole audience daily (marts.build_info has it).
    coalesce(last_changes.updated_on, {{ tagwise.as_of_date() }}) as updated_on
from marketable
inner join selected
    on marketable.customer_key = selected.customer_key
inner join customers
    on marketable.customer_key = customers.customer_key
inner join primary_segments
    on marketable.customer_key = primary_segments.customer_key
left join selected_audiences
    on marketable.customer_key = selected_audiences.customer_key
left join tag_lists
    on marketable.customer_key = tag_lists.customer_key
left join last_changes
    on marketable.customer_key = last_changes.customer_key
