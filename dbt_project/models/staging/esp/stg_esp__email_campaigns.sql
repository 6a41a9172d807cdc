with source as (
    select * from {{ source('esp', 'email_campaigns') }}
)

select
    campaign_id,
    name as campaign_name,
    sent_at,
    audience,
    _loaded_at
from source
