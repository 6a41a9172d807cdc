{#- Whether the model's fit of D may be trusted, in one row: tags resting on the model are
    withheld while it may not, and the release warns (tests in _model__models.yml). A
    fit without an evaluation (less history than the holdout) has no evidence against it. -#}
with parameters as (
    select * from {{ ref('stg_model__fit_parameters') }}
    where as_of_date = {{ tagwise.as_of_date() }}
),

quality as (
    select * from {{ ref('stg_model__fit_quality') }}
    where as_of_date = {{ tagwise.as_of_date() }}
),

fit as (
    select
        count(case when parameter <> 'none' then 1 end) > 0 as is_fitted,
        max(note) as note
    from parameters
),

status as (
    select
        fit.is_fitted,
        fit.note as fit_note,
        quality.aggregate_ratio,
        quality.correlation,
        case
            when not fit.is_fitted
                then 'nothing fitted as of D: ' || coalesce(fit.note, 'the model step did not run')
            when
                quality.aggregate_ratio
                not between 1.0 / {{ var('model_usable_ratio_limit') }} and {{ var('model_usable_ratio_limit') }}
                then
                    'the rolling holdout predicted ' || cast(round(quality.aggregate_ratio, 2) as string)
                    || ' times the repeat purchases made, beyond a factor of {{ var("model_usable_ratio_limit") }}'
        end as unusable_because
    from fit
    left join quality
        on true
)

select
    {{ tagwise.as_of_date() }} as as_of_date,
    is_fitted,
    fit_note,
    aggregate_ratio,
    correlation,
    unusable_because is null as is_usable,
    unusable_because,
    coalesce(
        aggregate_ratio
        between 1.0 / {{ var('model_accuracy_ratio_limit') }} and {{ var('model_accuracy_ratio_limit') }},
        true
    ) as is_accurate
from status
