{#- The as-of dates that history tables have recorded. Recording a date older than the
    latest one would rewrite the past out of order: the on-run-start hook
    `refuse_older_history_dates` stops such a run before it builds anything. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}

select
    {{ tagwise.as_of_date() }} as as_of_date,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as recorded_at
