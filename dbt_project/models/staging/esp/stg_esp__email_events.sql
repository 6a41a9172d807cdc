with source as (
    select * from {{ source('esp', 'email_events') }}
)

select
    event_id,
    campaign_id,
    customer_id,
    {{ tagwise.normalized_email('email') }} as email,
    event_type,
    occurred_at,
    _loaded_at
from source
