with source as (
    select * from {{ source('privacy', 'privacy_requests') }}
)

select
    request_id,
    customer_id,
    {{ tagwise.normalized_email('email') }} as email,
    request_type,
    received_at,
    _loaded_at
from source
