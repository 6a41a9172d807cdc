with source as (
    select * from {{ source('privacy', 'privacy_requests') }}
)

select
    request_id,
    customer_id,
    {{ tagwise.normalized_email('email') }} as email,
    lower(trim(email)) as email_as_given,
    request_type,
    received_at,
    _loaded_at
from source
