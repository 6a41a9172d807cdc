{#- Privacy requests received by the end of D that name no one tagwise holds: kept with the
    reason and counted in the run summary, never dropped (SPEC 3.6). -#}
with requests as (
    select * from {{ ref('int_identity__privacy_requests') }}
)

select
    request_id,
    request_type,
    customer_id,
    email,
    received_at,
    unresolved_reason,
    {{ tagwise.as_of_date() }} as as_of_date
from requests
where customer_key is null
