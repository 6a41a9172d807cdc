{#- What every destination receives (SPEC 3.7): one row per eligible customer it selects,
    with its key and the fields its catalog entry lists (null otherwise). audiences holds
    the audiences that destination selects and the customer is not held out of;
    updated_on is the latest as-of date on which any of the customer's segments or tags
    started or ended. -#}
with eligible as (
    select * from {{ ref('destination_eligibility') }}
    where is_eligible
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

primary_segments as (
    select
        customer_key,
        -- A destination that selects the customer through an audience does not learn a
        -- primary segment they are held out of: targeting by it would reach them.
        case when not is_holdout then segment end as primary_segment
    from membership
    where segment_type = 'primary'
),

selected_audiences as (
    select
        eligible.destination,
        eligible.customer_key,
        {{ tagwise.sorted_list_agg('membership.segment') }} as audiences
    from eligible
    inner join membership
        on
            eligible.customer_key = membership.customer_key
            and membership.segment_type = 'audience'
            and not membership.is_holdout
            and membership.destinations like '%|' || eligible.destination || '|%'
    group by eligible.destination, eligible.customer_key
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
    eligible.destination,
    eligible.key,
    {{ tagwise.destination_field('first_name', 'customers.first_name') }},
    {{ tagwise.destination_field('last_name', 'customers.last_name') }},
    {{ tagwise.destination_field('primary_segment', 'primary_segments.primary_segment') }},
    {{ tagwise.destination_field('audiences', "coalesce(selected_audiences.audiences, '')") }},
    {{ tagwise.destination_field('tags', "coalesce(tag_lists.tags, '')") }},
    -- No as-of date: a column that changes every day for everyone would make every
    -- diff-based sync tool send the whole audience daily (marts.build_info has it).
    {{ tagwise.destination_field(
        'updated_on', 'coalesce(last_changes.updated_on, ' ~ tagwise.as_of_date() ~ ')', 'date'
    ) }},
    {{ tagwise.destination_field('phone_sha256', 'eligible.phone_sha256') }}
from eligible
inner join customers
    on eligible.customer_key = customers.customer_key
inner join primary_segments
    on eligible.customer_key = primary_segments.customer_key
left join selected_audiences
    on
        eligible.destination = selected_audiences.destination
        and eligible.customer_key = selected_audiences.customer_key
left join tag_lists
    on eligible.customer_key = tag_lists.customer_key
left join last_changes
    on eligible.customer_key = last_changes.customer_key
