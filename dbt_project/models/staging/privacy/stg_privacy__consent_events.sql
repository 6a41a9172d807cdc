with source as (
    select * from {{ source('privacy', 'consent_events') }}
)

select
    event_id,
    customer_id,
    {{ tagwise.normalized_email('email') }} as email,
    channel,
    purpose,
    status,
    method as consent_method,
    occurred_at,
    _loaded_at
from source
