{#- Only predictions made as of this build's date count: stale ones read as none. -#}
with source as (
    select * from {{ source('model', 'customer_predictions') }}
)

select
    customer_key,
    p_alive,
    expected_orders_365d,
    predicted_clv_365d
from source
where as_of_date = {{ tagwise.as_of_date() }}
