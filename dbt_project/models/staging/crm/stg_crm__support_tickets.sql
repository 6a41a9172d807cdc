with source as (
    select * from {{ source('crm', 'support_tickets') }}
)

select
    ticket_id,
    customer_id,
    created_at,
    topic,
    _loaded_at
from source
