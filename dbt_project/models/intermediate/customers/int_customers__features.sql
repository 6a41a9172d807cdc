{#- One row per customer as of D (SPEC 3.2). The predictive columns come from the model
    step (SPEC 6) and are null where it has no prediction: no completed order, a profiling
    objection, or no fit. -#}
with customers as (
    select * from {{ ref('int_customers__profiles') }}
),

order_features as (
    select * from {{ ref('int_features__orders') }}
),

email_features as (
    select * from {{ ref('int_features__email') }}
),

web_features as (
    select * from {{ ref('int_features__web') }}
),

support_features as (
    select * from {{ ref('int_features__support') }}
),

predictions as (
    select * from {{ ref('stg_model__customer_predictions') }}
),

joined as (
    select
        customers.customer_key,
        coalesce(order_features.orders_30d, 0) as orders_30d,
        coalesce(order_features.orders_90d, 0) as orders_90d,
        coalesce(order_features.orders_365d, 0) as orders_365d,
        coalesce(order_features.orders_lifetime, 0) as orders_lifetime,
        coalesce(order_features.revenue_365d, 0) as revenue_365d,
        coalesce(order_features.revenue_lifetime, 0) as revenue_lifetime,
        order_features.first_order_date,
        order_features.last_order_date,
        {{ tagwise.days_between('order_features.last_order_date', tagwise.as_of_date()) }} as recency_days,
        {{ tagwise.days_between('cast(customers.signup_at as date)', tagwise.as_of_date()) }} as tenure_days,
        order_features.discount_share_365d,
        order_features.app_share_365d,
        order_features.late_night_share_365d,
        order_features.eco_share_365d,
        order_features.premium_share_365d,
        order_features.top_category_365d,
        order_features.top_category_share_365d,
        coalesce(email_features.emails_delivered_90d, 0) as emails_delivered_90d,
        coalesce(email_features.emails_opened_90d, 0) as emails_opened_90d,
        coalesce(email_features.emails_clicked_90d, 0) as emails_clicked_90d,
        email_features.open_rate_90d,
        email_features.click_rate_90d,
        coalesce(web_features.pricing_page_views_30d, 0) as pricing_page_views_30d,
        coalesce(web_features.abandoned_carts_7d, 0) as abandoned_carts_7d,
        coalesce(support_features.support_tickets_90d, 0) as support_tickets_90d,
        predictions.p_alive,
        predictions.expected_orders_365d,
        predictions.predicted_clv_365d
    from customers
    left join order_features
        on customers.customer_key = order_features.customer_key
    left join email_features
        on customers.customer_key = email_features.customer_key
    left join web_features
        on customers.customer_key = web_features.customer_key
    left join support_features
        on customers.customer_key = support_features.customer_key
    left join predictions
        on customers.customer_key = predictions.customer_key
),

ranked as (
    -- RFM among buyers: rank() gives ties the lowest rank.
    select
        *,
        count(case when orders_lifetime > 0 then 1 end) over () as buyers,
        case
            when orders_lifetime > 0
                then rank() over (
                    partition by orders_lifetime > 0 order by recency_days desc
                )
        end as recency_rank,
        case
            when orders_lifetime > 0
                then rank() over (partition by orders_lifetime > 0 order by orders_lifetime asc)
        end as frequency_rank,
        case
            when orders_lifetime > 0
                then rank() over (partition by orders_lifetime > 0 order by revenue_lifetime asc)
        end as monetary_rank
    from joined
)

select
    customer_key,
    {{ tagwise.as_of_date() }} as as_of_date,
    orders_30d,
    orders_90d,
    orders_365d,
    orders_lifetime,
    revenue_365d,
    revenue_lifetime,
    first_order_date,
    last_order_date,
    recency_days,
    tenure_days,
    case
        when orders_lifetime > 0 then {{ tagwise.decimal_average("revenue_lifetime", "orders_lifetime") }}
    end as avg_order_value,
    {{ tagwise.rfm_score('recency_rank') }} as r_score,
    {{ tagwise.rfm_score('frequency_rank') }} as f_score,
    {{ tagwise.rfm_score('monetary_rank') }} as m_score,
    discount_share_365d,
    app_share_365d,
    late_night_share_365d,
    eco_share_365d,
    premium_share_365d,
    top_category_365d,
    top_category_share_365d,
    emails_delivered_90d,
    emails_opened_90d,
    emails_clicked_90d,
    open_rate_90d,
    click_rate_90d,
    pricing_page_views_30d,
    abandoned_carts_7d,
    support_tickets_90d,
    p_alive,
    expected_orders_365d,
    predicted_clv_365d
from ranked
