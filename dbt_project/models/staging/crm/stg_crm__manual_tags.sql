with source as (
    select * from {{ source('crm', 'manual_tags') }}
)

select
    customer_id,
    tag as tag_text,
    action,
    actor,
    team,
    created_at,
    note,
    _loaded_at
from source
