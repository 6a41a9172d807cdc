with source as (
    select * from {{ source('shop', 'order_lines') }}
)

select
    order_id,
    line_no,
    product_id,
    quantity,
    unit_price,
    cast(quantity * unit_price as decimal(38, 2)) as line_amount,
    _loaded_at
from source
