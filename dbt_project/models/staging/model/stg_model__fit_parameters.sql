{#- The fits of D and earlier dates: a build as of an earlier date sees no later fit. -#}
with source as (
    select * from {{ source('model', 'fit_parameters') }}
)

select
    as_of_date,
    parameter,
    value,
    customers,
    repeat_customers,
    note
from source
where as_of_date <= {{ tagwise.as_of_date() }}
