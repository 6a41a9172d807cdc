{#- Web behaviour per customer (SPEC 3.2): pricing page views in the last 30 days, and
    sessions of the last 7 days with an add-to-cart at t, t + 24 h no later than the end of
    D, and no completed order by the customer in [t, t + 24 h]. -#}
-- Both features look back at most 30 days; the window here lets the scan skip older rows.
with web_events as (
    select * from {{ ref('stg_web__web_events') }}
    where {{ tagwise.in_last_days('occurred_at', 30) }}
),

people as (
    select * from {{ ref('int_identity__people') }}
),

completed_orders as (
    select * from {{ ref('int_orders__completed') }}
),

customer_events as (
    select
        web_events.*,
        people.customer_key
    from web_events
    inner join people
        on web_events.customer_id = people.customer_id
),

pricing_views as (
    select
        customer_key,
        count(*) as pricing_page_views_30d
    from customer_events
    where
        event_type = 'page_view'
        and page_type = 'pricing'
        and {{ tagwise.in_last_days('occurred_at', 30) }}
    group by customer_key
),

cart_adds as (
    select
        customer_key,
        session_id,
        event_id,
        occurred_at
    from customer_events
    where
        event_type = 'add_to_cart'
        and {{ tagwise.in_last_days('occurred_at', 7) }}
        and {{ dbt.dateadd('hour', 24, 'occurred_at') }} <= {{ tagwise.as_of_end() }}
),

cart_outcomes as (
    select
        cart_adds.customer_key,
        cart_adds.session_id,
        cart_adds.event_id,
        count(completed_orders.order_id) as orders_within_24h
    from cart_adds
    left join completed_orders
        on
            cart_adds.customer_key = completed_orders.customer_key
            and cart_adds.occurred_at <= completed_orders.ordered_at
            and {{ dbt.dateadd('hour', 24, 'cart_adds.occurred_at') }} >= completed_orders.ordered_at
    group by cart_adds.customer_key, cart_adds.session_id, cart_adds.event_id
),

abandoned as (
    select
        customer_key,
        count(distinct session_id) as abandoned_carts_7d
    from cart_outcomes
    where orders_within_24h = 0
    group by customer_key
)

select
    coalesce(pricing_views.customer_key, abandoned.customer_key) as customer_key,
    coalesce(pricing_views.pricing_page_views_30d, 0) as pricing_page_views_30d,
    coalesce(abandoned.abandoned_carts_7d, 0) as abandoned_carts_7d
from pricing_views
full outer join abandoned
    on pricing_views.customer_key = abandoned.customer_key
