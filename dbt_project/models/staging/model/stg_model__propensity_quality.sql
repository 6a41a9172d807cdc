{#- The interests model's quality of D and every earlier as-of date. -#}
with source as (
    select * from {{ source('model', 'propensity_quality') }}
)

select
    as_of_date,
    horizon_days,
    training_cutoff,
    year_earlier_cutoff,
    scoring_cutoff,
    customers,
    new_buyers,
    pairs,
    auc,
    brier,
    calibration,
    model_hit_rate_new_at_3,
    popularity_hit_rate_new_at_3,
    model_precision_at_3,
    popularity_precision_at_3,
    own_history_precision_at_3,
    is_usable,
    note
from source
where as_of_date <= {{ tagwise.as_of_date() }}
