{#- likely-<category>-buyer (SPEC 3.10): a customer's categories ranked up to
    interests_likely_max_rank with a probability of at least
    interests_likely_min_probability, while the interests model's fit of D is usable.
    Two categories with one name (`Frozen Pizza`, `FROZEN PIZZA`) make one tag, the
    better ranked one's. -#}
with propensity as (
    select * from {{ ref('stg_model__category_propensity') }}
),

status as (
    select * from {{ ref('int_model__propensity_status') }}
),

likely as (
    select
        propensity.customer_key,
        'likely-' || {{ tagwise.name_part('propensity.category') }} || '-buyer' as tag,
        propensity.category,
        propensity.probability,
        propensity.rank,
        propensity.top_drivers,
        propensity.model_version,
        status.horizon_days,
        row_number() over (
            partition by propensity.customer_key, {{ tagwise.name_part('propensity.category') }}
            order by propensity.rank
        ) as name_rank
    from propensity
    cross join status
    where
        status.is_usable
        and propensity.rank <= {{ var('interests_likely_max_rank') }}
        and propensity.probability >= {{ var('interests_likely_min_probability') }}
        and {{ tagwise.name_part('propensity.category') }} <> ''
)

select
    customer_key,
    tag,
    'model' as source,
    model_version as rule_version,
    'ranked ' || cast(rank as string) || ' of their categories, '
    || cast(cast(round(probability * 100) as bigint) as string) || '% likely to buy '
    || category || ' in the next ' || cast(horizon_days as string) || ' days: ' || top_drivers as evidence
from likely
where name_rank = 1
