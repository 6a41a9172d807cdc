{#- How far the model moved from its previous run, per as-of date: each fitted parameter
    and each segment's mean predicted CLV against the latest earlier date that has it. The
    bound applies from one day to the next, to a measure that has one on both days; after
    a gap, the change is shown, not judged. A Gamma-Gamma fit that CLV does not use lies
    on a ridge of its likelihood (gamma_gamma_used 0) and the mean of a segment below
    model_segment_clv_min_members moves with its members: neither has a bound. -#}
with parameters as (
    select * from {{ ref('stg_model__fit_parameters') }}
),

segment_kpis as (
    select * from {{ ref('segment_kpis') }}
),

gamma_gamma_use as (
    select
        as_of_date,
        value = 1 as is_gamma_gamma_used
    from parameters
    where parameter = 'gamma_gamma_used'
),

measures as (
    select
        parameters.as_of_date,
        'parameter' as subject,
        parameters.parameter as measure,
        parameters.value as current_value,
        cast(null as bigint) as members,
        case
            when parameters.parameter = 'gamma_gamma_used' then null
            when
                parameters.parameter in ('gamma_gamma_p', 'gamma_gamma_q', 'gamma_gamma_gamma')
                and not coalesce(gamma_gamma_use.is_gamma_gamma_used, true)
                then null
            else cast({{ var('model_parameter_change_bound') }} as double)
        end as bound
    from parameters
    left join gamma_gamma_use
        on parameters.as_of_date = gamma_gamma_use.as_of_date
    where parameters.value is not null
    union all
    select
        as_of_date,
        'segment mean predicted CLV' as subject,
        segment as measure,
        cast(avg_predicted_clv as double) as current_value,
        members,
        -- A small segment's mean moves with its members: it is shown, not judged.
        case
            when members >= {{ var('model_segment_clv_min_members') }}
                then cast({{ var('model_segment_clv_change_bound') }} as double)
        end as bound
    from segment_kpis
    where avg_predicted_clv is not null
),

paired as (
    select
        *,
        lag(as_of_date) over (partition by subject, measure order by as_of_date) as previous_as_of_date,
        lag(current_value) over (partition by subject, measure order by as_of_date) as previous_value,
        lag(bound) over (partition by subject, measure order by as_of_date) as previous_bound
    from measures
),

changes as (
    select
        *,
        abs(current_value - previous_value) / nullif(abs(previous_value), 0) as relative_change
    from paired
)

select
    as_of_date,
    subject,
    measure,
    current_value,
    members,
    previous_as_of_date,
    previous_value,
    relative_change,
    bound,
    coalesce(
        not (
            {{ tagwise.days_between('previous_as_of_date', 'as_of_date') }} = 1
            and previous_bound is not null
            and relative_change > bound
        ),
        true
    ) as is_within_bound
from changes
