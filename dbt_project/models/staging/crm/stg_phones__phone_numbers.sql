{#- Each phone text as landed with its E.164, as ingestion's phonenumbers check found it
    (null when it is not a valid international number). -#}
with source as (
    select * from {{ source('phones', 'phone_numbers') }}
)

select
    phone,
    e164 as e164_phone,
    problem
from source
