{#- Customers whose latest profiling consent on any channel is withdrawn: no profiling
    tags and no predictive columns for them (SPEC 3.6). -#}
select distinct customer_key
from {{ ref('consent_state') }}
where
    purpose = 'profiling'
    and status = 'withdrawn'
