{#- Functions the catalogs may use on every engine. Spark has regexp_like natively;
    DuckDB gets it as a macro so that catalog conditions are written once. -#}
{% macro create_portable_functions() -%}
    {{ return(adapter.dispatch("create_portable_functions", "tagwise")()) }}
{%- endmacro %}

{% macro default__create_portable_functions() -%}
    select 1
{%- endmacro %}

{% macro duckdb__create_portable_functions() -%}
    create or replace macro regexp_like(text, pattern) as regexp_matches(text, pattern)
{%- endmacro %}

{#- History tables record as-of dates in order. A run as of a date older than the latest
    recorded one stops here, before any model is built, unless it is a full refresh
    (which rebuilds history from that date: `tagwise backfill`). -#}
{% macro refuse_older_history_dates() -%}
    {%- if execute and not flags.FULL_REFRESH -%}
        {%- set recorded = adapter.get_relation(
            database=target.database, schema="marts", identifier="history_as_of_dates"
        ) -%}
        {%- if recorded is not none -%}
            {%- set latest = run_query("select max(as_of_date) from " ~ recorded).columns[0].values()[0] -%}
            {%- if latest is not none and (latest | string) > tagwise.as_of_date_string() -%}
                {{ exceptions.raise_compiler_error(
                    "history already records as-of date " ~ latest ~ "; refusing to build as of the older date "
                    ~ tagwise.as_of_date_string() ~ ". Rebuild history from the start with "
                    ~ "`tagwise backfill --from DATE --to DATE`."
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- A table Python writes, created from its dbt source's columns and data types (the one
    place they are written): the model's output (`tagwise.model.pipeline`, between the
    two dbt steps) and what erasure purged (`tagwise.erasure`). They exist from the first
    run on, so that the models reading them always can (empty means: nothing yet). One
    statement per hook: Spark runs one at a time. -#}
{% macro create_source_table(source_name, table_name) -%}
    {%- if not execute -%}
        select 1
    {%- else -%}
        {%- set source = graph.sources["source.tagwise." ~ source_name ~ "." ~ table_name] -%}
        create table if not exists {{ source.schema }}.{{ source.identifier }} (
            {%- for column in source.columns.values() %}
            {{ column.name }} {{ column.data_type }}{{ "," if not loop.last }}
            {%- endfor %}
        )
        {{- " using parquet" if target.type == "spark" }}
    {%- endif -%}
{%- endmacro %}

{#- Where unique_key and foreign_key record the loads they have checked. -#}
{% macro create_new_row_checks_table() -%}
    create table if not exists checks.new_row_checks (
        model_name string, test_name string, test_columns string, checked_through timestamp
    )
    {{- " using parquet" if target.type == "spark" }}
{%- endmacro %}

