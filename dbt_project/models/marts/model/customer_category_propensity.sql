{#- Predicted interests as of D (SPEC 3.10): per customer, the categories most likely to
    be bought in the next 90 days, as the interests step ranked them. Nobody whose
    profiling consent is withdrawn is published, whatever the step wrote. -#}
with propensity as (
    select * from {{ ref('stg_model__category_propensity') }}
),

objections as (
    select * from {{ ref('int_privacy__profiling_objections') }}
)

select
    propensity.customer_key,
    propensity.category,
    propensity.probability,
    propensity.rank,
    propensity.is_new_to_customer,
    propensity.top_drivers,
    propensity.model_version,
    {{ tagwise.as_of_date() }} as as_of_date
from propensity
where not exists (
    select 1 from objections
    where objections.customer_key = propensity.customer_key
)
