{#- People with an erasure request received by the end of D, by source id or by email. -#}
with erasure_requests as (
    select *
    from {{ ref('stg_privacy__privacy_requests') }}
    where
        request_type = 'erasure'
        and received_at < {{ tagwise.as_of_end() }}
),

resolved as (
    {{ tagwise.with_customer_key('erasure_requests', ref('int_identity__clusters')) }}
)

select
    customer_key,
    min(received_at) as erasure_received_at
from resolved
where customer_key is not null
group by customer_key
