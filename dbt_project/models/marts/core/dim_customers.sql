{#- Published as built in intermediate (int_customers__profiles), where the tag rules read it. -#}
select * from {{ ref('int_customers__profiles') }}  -- noqa: AM04
