{#- The extra identifiers of customer record versions (identity catalog), as rules compare
    them: trimmed, lower-cased. -#}
with source as (
    select * from {{ source('identifiers', 'customer_identifiers') }}
)

select
    customer_id,
    updated_at,
    identifier,
    lower(trim(identifier_value)) as identifier_value
from source
