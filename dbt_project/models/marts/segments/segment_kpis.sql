{#- KPIs per segment and as-of date (SPEC 3.5), kept for every as-of date recorded. Rates
    are ratios of sums (open rate = opened among delivered over delivered, summed over
    members), so large and small members weigh by what they received. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['as_of_date', 'segment'],
    on_schema_change='fail',
) }}

with membership as (
    select * from {{ ref('segment_membership') }}
),

features as (
    select * from {{ ref('customer_features') }}
),

history as (
    select * from {{ ref('segment_membership_history') }}
),

member_figures as (
    select
        membership.segment,
        membership.segment_type,
        count(*) as members,
        count(case when membership.member_since = {{ tagwise.as_of_date() }} then 1 end) as entered,
        cast(sum(features.revenue_365d) as decimal(38, 2)) as revenue_365d,
        cast(sum(features.orders_365d) as bigint) as orders_365d,
        sum(features.open_rate_90d * features.emails_delivered_90d)
        / nullif(sum(case when features.open_rate_90d is not null then features.emails_delivered_90d end), 0)
            as open_rate_90d,
        sum(features.click_rate_90d * features.emails_delivered_90d)
        / nullif(sum(case when features.click_rate_90d is not null then features.emails_delivered_90d end), 0)
            as click_rate_90d,
        cast(avg(features.predicted_clv_365d) as decimal(38, 2)) as avg_predicted_clv,
        cast(count(case when features.orders_30d >= 1 then 1 end) as double) / count(*) as conversion_rate_30d
    from membership
    inner join features
        on membership.customer_key = features.customer_key
    group by membership.segment, membership.segment_type
),

exits as (
    select
        segment,
        segment_type,
        count(*) as exited
    from history
    where exited_on = {{ tagwise.as_of_date() }}
    group by segment, segment_type
)

select
    {{ tagwise.as_of_date() }} as as_of_date,
    coalesce(member_figures.segment, exits.segment) as segment,
    coalesce(member_figures.segment_type, exits.segment_type) as segment_type,
    coalesce(member_figures.members, 0) as members,
    coalesce(member_figures.entered, 0) as entered,
    coalesce(exits.exited, 0) as exited,
    coalesce(member_figures.revenue_365d, 0) as revenue_365d,
    coalesce(member_figures.orders_365d, 0) as orders_365d,
    member_figures.open_rate_90d,
    member_figures.click_rate_90d,
    member_figures.avg_predicted_clv,
    member_figures.conversion_rate_30d
from member_figures
full outer join exits
    on
        member_figures.segment = exits.segment
        and member_figures.segment_type = exits.segment_type
