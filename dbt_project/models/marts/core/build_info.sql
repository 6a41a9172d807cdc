{#- What the marts hold: the as-of date D of the build, when it ran, and the identity
    catalog it resolved customers with (a later `tagwise diff` compares with it). -#}
select
    {{ tagwise.as_of_date() }} as as_of_date,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as built_at,
    '{{ invocation_id }}' as dbt_invocation_id,
    {{ tagwise.string_literal(tojson(tagwise.identity_catalog(), sort_keys=True)) }} as identity_catalog
