{#- How many customers moved from each primary segment to each other between two recorded
    as-of dates: the quarterly "are our segments still accurate?" review. The later date is
    D; the earlier one is var migration_from, else the latest recorded date at least 90
    days before D, else the earliest recorded date. Customers who were not yet (or no
    longer) customers show as '(none)'. -#}
with recorded_dates as (
    select * from {{ ref('history_as_of_dates') }}
),

history as (
    select * from {{ ref('segment_membership_history') }}
    where segment_type = 'primary'
),

review_window as (
    select
        coalesce(
            {%- if var('migration_from', none) %}
                cast('{{ var("migration_from") }}' as date),
            {%- endif %}
            max(case when as_of_date <= {{ dbt.dateadd('day', -90, tagwise.as_of_date()) }} then as_of_date end),
            min(as_of_date)
        ) as from_date,
        {{ tagwise.as_of_date() }} as to_date
    from recorded_dates
),

at_start as (
    select
        history.customer_key,
        history.segment
    from history
    cross join review_window
    where
        history.entered_on <= review_window.from_date
        and (history.exited_on is null or history.exited_on > review_window.from_date)
),

at_end as (
    select
        customer_key,
        segment
    from history
    where exited_on is null
)

select
    review_window.from_date,
    review_window.to_date,
    coalesce(at_start.segment, '(none)') as from_segment,
    coalesce(at_end.segment, '(none)') as to_segment,
    count(*) as customers
from at_start
full outer join at_end
    on at_start.customer_key = at_end.customer_key
cross join review_window
group by
    review_window.from_date,
    review_window.to_date,
    coalesce(at_start.segment, '(none)'),
    coalesce(at_end.segment, '(none)')
