{#- Engine-specific SQL, dispatched per adapter so that models stay portable. -#}

{% macro regexp_like(expression, pattern) -%}
    {{ return(adapter.dispatch("regexp_like", "tagwise")(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_like(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_like(expression, pattern) -%}
    ({{ expression }} rlike '{{ pattern }}')
{%- endmacro %}

{#- Sorted, distinct, comma-separated values of a text column within a group. -#}
{% macro sorted_list_agg(expression) -%}
    {{ return(adapter.dispatch("sorted_list_agg", "tagwise")(expression)) }}
{%- endmacro %}

{% macro default__sorted_list_agg(expression) -%}
    array_to_string(list_sort(list(distinct {{ expression }})), ', ')
{%- endmacro %}

{% macro spark__sorted_list_agg(expression) -%}
    array_join(array_sort(collect_set({{ expression }})), ', ')
{%- endmacro %}

{#- Whole days from date `start` to date `end` (end - start). -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch("days_between", "tagwise")(start, end)) }}
{%- endmacro %}

{% macro default__days_between(start, end) -%}
    ({{ end }} - {{ start }})
{%- endmacro %}

{% macro spark__days_between(start, end) -%}
    datediff({{ end }}, {{ start }})
{%- endmacro %}
