{#- Published as built in intermediate (int_customers__features), where the tag rules read it. -#}
select * from {{ ref('int_customers__features') }}  -- noqa: AM04
