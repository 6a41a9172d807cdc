with source as (
    select * from {{ source('shop', 'orders') }}
)

select
    order_id,
    customer_id,
    ordered_at,
    cast(ordered_at as date) as ordered_on,
    status,
    channel,
    discount_amount,
    _loaded_at
from source
