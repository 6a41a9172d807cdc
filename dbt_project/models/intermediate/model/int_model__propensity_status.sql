{#- Whether the interests model's fit of D may feed tags, in one row: the step's own
    verdict (it beat category popularity on new categories), or why not. No quality row
    of D means the step did not run: nothing may be used (fail closed). -#}
with quality as (
    select * from {{ ref('stg_model__propensity_quality') }}
    where as_of_date = {{ tagwise.as_of_date() }}
),

dates as (
    select {{ tagwise.as_of_date() }} as as_of_date
)

select
    dates.as_of_date,
    coalesce(quality.is_usable, false) as is_usable,
    case
        when quality.as_of_date is null then 'the interests step stored no quality as of D'
        when not quality.is_usable then quality.note
    end as unusable_because,
    quality.horizon_days,
    quality.model_hit_rate_new_at_3,
    quality.popularity_hit_rate_new_at_3
from dates
left join quality
    on dates.as_of_date = quality.as_of_date
