with source as (
    select * from {{ source('shop', 'products') }}
)

select
    product_id,
    name as product_name,
    category,
    price_tier,
    is_eco,
    _loaded_at
from source
