{#- What the marts hold: the as-of date D of the build and when it ran. -#}
select
    {{ tagwise.as_of_date() }} as as_of_date,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at,
    '{{ invocation_id }}' as dbt_invocation_id
