{#- For every targeted campaign, the two groups audience_lift compares (SPEC 3.8): the
    members of its audience on the send date who were not held out (treated: meant to
    receive it, whether or not a destination could reach them) and those held out. Per
    group: members, members who converted (tagwise.converted_after_send: a completed order
    in the var conversion_days after the send) and the revenue of those orders, with its
    sum of squares for the variance. The window closes conversion_days after the send. -#}
with targets as (
    select * from {{ ref('segment_campaign_targets') }}
),

completed_orders as (
    select * from {{ ref('int_orders__completed') }}
),

outcomes as (
    select
        targets.campaign_id,
        targets.customer_key,
        targets.is_holdout,
        max(case when completed_orders.order_id is not null then 1 else 0 end) as converted,
        cast(coalesce(sum(completed_orders.revenue), 0) as decimal(38, 2)) as revenue
    from targets
    left join completed_orders
        on
            targets.customer_key = completed_orders.customer_key
            and {{ tagwise.converted_after_send('targets.sent_at', 'completed_orders.ordered_at') }}
    where targets.customer_key is not null
    group by targets.campaign_id, targets.customer_key, targets.is_holdout
),

campaigns as (
    select distinct
        campaign_id,
        campaign_name,
        sent_at,
        audience,
        membership_basis,
        has_holdout
    from targets
)

select
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.sent_at,
    campaigns.audience,
    campaigns.membership_basis,
    campaigns.has_holdout,
    coalesce(
        {{ tagwise.conversion_window_end('campaigns.sent_at') }} < {{ tagwise.as_of_end() }},
        false
    ) as window_closed,
    count(case when not outcomes.is_holdout then 1 end) as treated_members,
    cast(coalesce(sum(case when not outcomes.is_holdout then outcomes.converted end), 0) as bigint)
        as treated_converted,
    cast(coalesce(sum(case when not outcomes.is_holdout then outcomes.revenue end), 0) as decimal(38, 2))
        as treated_revenue,
    -- Decimal, so that sums of squares are exact and the same on every engine.
    cast(
        coalesce(sum(case when not outcomes.is_holdout then outcomes.revenue * outcomes.revenue end), 0)
        as decimal(38, 4)
    ) as treated_revenue_squares,
    count(case when outcomes.is_holdout then 1 end) as held_out_members,
    cast(coalesce(sum(case when outcomes.is_holdout then outcomes.converted end), 0) as bigint)
        as held_out_converted,
    cast(coalesce(sum(case when outcomes.is_holdout then outcomes.revenue end), 0) as decimal(38, 2))
        as held_out_revenue,
    cast(
        coalesce(sum(case when outcomes.is_holdout then outcomes.revenue * outcomes.revenue end), 0)
        as decimal(38, 4)
    ) as held_out_revenue_squares
from campaigns
left join outcomes
    on campaigns.campaign_id = outcomes.campaign_id
group by
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.sent_at,
    campaigns.audience,
    campaigns.membership_basis,
    campaigns.has_holdout
