{#- Lines of completed orders of the last 365 days with their share of the order's revenue:
    the discount is spread over the lines in proportion to their amount, so the shares of
    a customer's revenue_365d by product attribute add up to at most 1. -#}
with completed_orders as (
    select * from {{ ref('int_orders__completed') }}
    where {{ tagwise.in_last_days('ordered_at', 365) }}
),

order_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
)

select
    completed_orders.customer_key,
    completed_orders.order_id,
    order_lines.line_no,
    products.category,
    coalesce(products.is_eco, false) as is_eco,
    products.price_tier,
    case
        when completed_orders.gross_amount > 0
            then
                cast(order_lines.line_amount as double)
                * cast(completed_orders.revenue as double)
                / cast(completed_orders.gross_amount as double)
        else 0
    end as line_revenue
from completed_orders
inner join order_lines
    on completed_orders.order_id = order_lines.order_id
left join products
    on order_lines.product_id = products.product_id
