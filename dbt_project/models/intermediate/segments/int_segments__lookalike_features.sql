{#- The features lookalike models read (var lookalike_features), one row per profiled
    customer and feature, as the value's text a reason quotes: a number's bin of equal
    population by percent rank (ties share a bin, so bins are the same on every engine;
    no value is bin 0) with the bin's range, or a category's value. Customers whose
    profiling consent is withdrawn have no rows (SPEC 3.6). Each feature is one branch
    over its own two CTEs, so no engine computes a shared one once per branch (Spark
    inlines CTEs). -#}
{%- set numeric = var("lookalike_features") | selectattr("bins") | list -%}
{%- set categorical = var("lookalike_features") | rejectattr("bins") | list -%}

with inputs as (
    select * from {{ ref('int_segments__inputs') }}
),

objections as (
    select * from {{ ref('int_privacy__profiling_objections') }}
),

profiled as (
    select inputs.*
    from inputs
    left join objections
        on inputs.customer_key = objections.customer_key
    where objections.customer_key is null
),

{%- for feature in numeric %}

    bins__{{ feature.column }} as (
        select
            customer_key,
            cast({{ feature.column }} as double) as feature_number,
            case
                when {{ feature.column }} is not null
                    then least(
                        {{ feature.bins }},
                        1 + cast(floor({{ feature.bins }} * percent_rank() over (
                            partition by {{ feature.column }} is null
                            order by {{ feature.column }}
                        )) as int)
                    )
                else 0
            end as bin
        from profiled
    ),

    ranges__{{ feature.column }} as (
        select
            customer_key,
            bin,
            min(feature_number) over (partition by bin) as low,
            max(feature_number) over (partition by bin) as high
        from bins__{{ feature.column }}
    ),
{%- endfor %}

feature_values as (
    select
        customer_key,
        cast(null as string) as feature,
        cast(null as string) as feature_value
    from profiled
    where 1 = 0
    {%- for feature in numeric %}
        union all
        select
            customer_key,
            {{ tagwise.string_literal(feature.column) }} as feature,
            case
                when bin = 0 then {{ tagwise.string_literal(feature.column ~ " unknown") }}
                when low = high
                    then {{ tagwise.string_literal(feature.column ~ " ") }} || {{ tagwise.number_text("low") }}
                else
                    {{ tagwise.string_literal(feature.column ~ " ") }} || {{ tagwise.number_text("low") }}
                    || ' to ' || {{ tagwise.number_text("high") }}
            end as feature_value
        from ranges__{{ feature.column }}
    {%- endfor %}
    {%- for feature in categorical %}
        union all
        select
            customer_key,
            {{ tagwise.string_literal(feature.column) }} as feature,
            {{ tagwise.string_literal(feature.column ~ " = ") }}
            || coalesce(cast({{ feature.column }} as string), 'unknown') as feature_value
        from profiled
    {%- endfor %}
)

select
    customer_key,
    feature,
    feature_value
from feature_values
