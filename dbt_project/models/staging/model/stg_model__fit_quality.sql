{#- The rolling-holdout evaluations of D and earlier dates. -#}
with source as (
    select * from {{ source('model', 'fit_quality') }}
)

select
    as_of_date,
    calibration_end,
    customers,
    predicted_purchases,
    actual_purchases,
    aggregate_ratio,
    mean_absolute_error,
    correlation,
    note
from source
where as_of_date <= {{ tagwise.as_of_date() }}
