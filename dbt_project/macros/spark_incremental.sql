{#- delete+insert on Spark. History models replace the rows of the keys they rebuild
    (delete+insert), which DuckDB does natively; Spark's Parquet tables have neither DELETE
    nor MERGE (those need Delta or Iceberg), so on Spark the table is rewritten: the kept
    rows plus the new ones go to a new table, which then takes the old one's name. Spark
    tables are not transactional: a run that fails between the drop and the rename leaves
    the rows in `<table>__tagwise_new`, and `tagwise backfill` rebuilds history. -#}

{#- Overrides dbt-spark's check so that delete+insert is accepted for Parquet. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy == "delete+insert" -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt_spark.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{% endmacro %}

{#- Overrides dbt-spark's strategy SQL, adding delete+insert. -#}
{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy != "delete+insert" -%}
        {{ return(dbt_spark.dbt_spark_get_incremental_sql(
            strategy, source, target, existing, unique_key, incremental_predicates
        )) }}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute="quoted") | join(", ") -%}
    {%- set same_key -%}
        {%- for key in keys %}{% if not loop.first %} and {% endif %}kept.{{ key }} = new.{{ key }}{% endfor -%}
    {%- endset -%}
    {%- set rows -%}
        select {{ columns }} from {{ target }} as kept left anti join {{ source }} as new on {{ same_key }}
        union all
        select {{ columns }} from {{ source }}
    {%- endset -%}
    {{ return(tagwise.replace_table(target, rows)) }}
{% endmacro %}

{#- Writes `rows` (a query that may read `relation`) to a new table, drops `relation` and
    renames the new table to it; returns the rename, for the caller to run last. -#}
{% macro replace_table(relation, rows) %}
    {%- set staged = relation.incorporate(path={"identifier": relation.identifier ~ "__tagwise_new"}) -%}
    {%- if execute -%}
        {%- do run_query("drop table if exists " ~ staged) -%}
        {%- do run_query("create table " ~ staged ~ " using parquet as " ~ rows) -%}
        {%- do run_query("drop table " ~ relation) -%}
    {%- endif -%}
    {{ return("alter table " ~ staged ~ " rename to " ~ relation) }}
{% endmacro %}
