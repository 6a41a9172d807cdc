{#- People with an erasure request received by the end of D, named by any source id or
    email they have held (int_identity__privacy_requests). -#}
with requests as (
    select * from {{ ref('int_identity__privacy_requests') }}
)

select
    customer_key,
    min(received_at) as erasure_received_at
from requests
where
    request_type = 'erasure'
    and customer_key is not null
group by customer_key
