with source as (
    select * from {{ source('web', 'web_events') }}
)

select
    event_id,
    session_id,
    customer_id,
    event_type,
    page_type,
    product_id,
    occurred_at,
    _loaded_at
from source
