{#- Only the ranking made as of this build's date counts: a stale one reads as none. -#}
with source as (
    select * from {{ source('model', 'category_propensity') }}
)

select
    customer_key,
    category,
    probability,
    rank,
    is_new_to_customer,
    top_drivers,
    model_version
from source
where as_of_date = {{ tagwise.as_of_date() }}
