{#- Completed orders placed by the end of D, with the buyer's customer_key. Revenue is the
    lines' total less the order's discount (SPEC 3.2). Orders of unknown or erased
    customers have no key and are left out. -#}
with orders as (
    select * from {{ ref('stg_shop__orders') }}
),

order_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

people as (
    select * from {{ ref('int_identity__people') }}
),

line_totals as (
    select
        order_id,
        sum(line_amount) as gross_amount
    from order_lines
    group by order_id
)

select
    orders.order_id,
    people.customer_key,
    orders.ordered_at,
    orders.ordered_on,
    orders.channel,
    orders.discount_amount,
    coalesce(line_totals.gross_amount, 0) as gross_amount,
    -- A voucher larger than the order makes it free, not negative (SPEC 3.2).
    cast(
        greatest(coalesce(line_totals.gross_amount, 0) - orders.discount_amount, 0) as decimal(38, 2)
    ) as revenue
from orders
inner join people
    on orders.customer_id = people.customer_id
left join line_totals
    on orders.order_id = line_totals.order_id
where
    orders.status = 'completed'
    and orders.ordered_at < {{ tagwise.as_of_end() }}
