{#- Purchase features per customer as of D (SPEC 3.2), for customers with a completed order.
    Shares are rounded to 10 decimals: summing spread line revenue in floating point can
    land a hair above 1. Orders are counted by rows: int_orders__completed has one per
    order (a distinct count cost most of this model's time at a million customers). -#}
with completed_orders as (
    select * from {{ ref('int_orders__completed') }}
),

line_revenue as (
    select * from {{ ref('int_order_lines__revenue_365d') }}
),

order_totals as (
    select
        customer_key,
        count(case when {{ tagwise.in_last_days('ordered_at', 30) }} then 1 end) as orders_30d,
        count(case when {{ tagwise.in_last_days('ordered_at', 90) }} then 1 end) as orders_90d,
        count(case when {{ tagwise.in_last_days('ordered_at', 365) }} then 1 end) as orders_365d,
        count(*) as orders_lifetime,
        count(
            case when {{ tagwise.in_last_days('ordered_at', 365) }} and discount_amount > 0 then 1 end
        ) as discounted_orders_365d,
        count(
            case when {{ tagwise.in_last_days('ordered_at', 365) }} and channel = 'app' then 1 end
        ) as app_orders_365d,
        -- Hours as recorded (UTC): the warehouse keeps no customer's time zone.
        count(
            case
                when
                    {{ tagwise.in_last_days('ordered_at', 365) }}
                    and (hour(ordered_at) >= 22 or hour(ordered_at) < 5)
                    then 1
            end
        ) as late_night_orders_365d,
        cast(
            coalesce(sum(case when {{ tagwise.in_last_days('ordered_at', 365) }} then revenue end), 0)
            as decimal(38, 2)
        ) as revenue_365d,
        cast(sum(revenue) as decimal(38, 2)) as revenue_lifetime,
        min(ordered_at) as first_order_at,
        min(ordered_on) as first_order_date,
        max(ordered_on) as last_order_date
    from completed_orders
    group by customer_key
),

-- The lines are read once: per category first, then per customer.
category_revenue as (
    select
        customer_key,
        category,
        sum(line_revenue) as revenue,
        sum(case when is_eco then line_revenue else 0 end) as eco_revenue,
        sum(case when price_tier = 'premium' then line_revenue else 0 end) as premium_revenue
    from line_revenue
    group by customer_key, category
),

attribute_revenue as (
    select
        customer_key,
        sum(eco_revenue) as eco_revenue_365d,
        sum(premium_revenue) as premium_revenue_365d
    from category_revenue
    group by customer_key
),

top_category as (
    select
        customer_key,
        category,
        revenue,
        -- Rounded: sums of spread line revenue in floating point differ in the last bits
        -- with the order of addition, which would break a tie at random.
        row_number() over (
            partition by customer_key
            order by round(revenue, 6) desc, category asc
        ) as category_rank
    from category_revenue
    where category is not null
)

select
    order_totals.customer_key,
    order_totals.orders_30d,
    order_totals.orders_90d,
    order_totals.orders_365d,
    order_totals.orders_lifetime,
    order_totals.revenue_365d,
    order_totals.revenue_lifetime,
    order_totals.first_order_at,
    order_totals.first_order_date,
    order_totals.last_order_date,
    case
        when order_totals.orders_365d > 0
            then cast(order_totals.discounted_orders_365d as double) / order_totals.orders_365d
    end as discount_share_365d,
    case
        when order_totals.orders_365d > 0
            then cast(order_totals.app_orders_365d as double) / order_totals.orders_365d
    end as app_share_365d,
    case
        when order_totals.orders_365d > 0
            then cast(order_totals.late_night_orders_365d as double) / order_totals.orders_365d
    end as late_night_share_365d,
    case
        when order_totals.revenue_365d > 0
            then round(attribute_revenue.eco_revenue_365d / cast(order_totals.revenue_365d as double), 10)
    end as eco_share_365d,
    case
        when order_totals.revenue_365d > 0
            then round(attribute_revenue.premium_revenue_365d / cast(order_totals.revenue_365d as double), 10)
    end as premium_share_365d,
    top_category.category as top_category_365d,
    case
        when order_totals.revenue_365d > 0
            then round(top_category.revenue / cast(order_totals.revenue_365d as double), 10)
    end as top_category_share_365d
from order_totals
left join attribute_revenue
    on order_totals.customer_key = attribute_revenue.customer_key
left join top_category
    on
        order_totals.customer_key = top_category.customer_key
        and top_category.category_rank = 1
