{#- Lookalike audiences (SPEC 3.10), fitted and scored as of D: for each catalog lookalike,
    a naive Bayes model of "in the seed" over binned features (var lookalike_features,
    without those the seed's definition reveals), fitted on the seed less a held-out share
    against everyone outside the seed. Each feature value weighs the log of how much more
    common it is in the seed (add-one smoothing); a customer's score is the posterior
    probability from the seed's share and the weights. Members are the non-seed customers
    with the highest scores (size) or a score of at least min_score. Customers whose
    profiling consent is withdrawn are neither fitted on nor scored (SPEC 3.6).
    In the warehouse rather than in Python: the seed (a tag, a segment or an audience) is
    built in this same dbt step, and the model is counts, on either engine. -#}
{%- set catalog = tagwise.segment_catalog() -%}
{%- set lookalikes = catalog.get("lookalikes", []) -%}
{%- set seed_products = ["''"] -%}
{%- for definition in lookalikes if definition.seed.product -%}
    {%- do seed_products.append(tagwise.string_literal(definition.seed.product)) -%}
{%- endfor -%}

with inputs as (
    select * from {{ ref('int_segments__inputs') }}
),

objections as (
    select * from {{ ref('int_privacy__profiling_objections') }}
),

completed_orders as (
    select * from {{ ref('int_orders__completed') }}
),

order_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

-- Who bought each product a lookalike's seed names, up to D (completed orders).
product_buyers as (
    select distinct
        order_lines.product_id,
        completed_orders.customer_key
    from completed_orders
    inner join order_lines
        on completed_orders.order_id = order_lines.order_id
    where order_lines.product_id in ({{ seed_products | join(", ") }})
),

profiled as (
    select inputs.*
    from inputs
    left join objections
        on inputs.customer_key = objections.customer_key
    where objections.customer_key is null
),

feature_values as (
    select * from {{ ref('int_segments__lookalike_features') }}
),

-- Each lookalike's seed: its members among the profiled, and which are held out.
seeds as (
    select
        cast(null as string) as lookalike,
        cast(null as string) as customer_key,
        false as is_held_out
    from profiled
    where 1 = 0
    {%- for definition in lookalikes %}
        union all
        select
            {{ tagwise.string_literal(definition.audience) }} as lookalike,
            customer_key,
            {{ tagwise.md5_fraction(tagwise.string_literal(definition.audience ~ ":seed:") ~ " || customer_key") }}
            < {{ var("lookalike_held_out_share") }} as is_held_out
        from profiled
        where {{ tagwise.lookalike_seed_condition(definition, catalog) }}
    {%- endfor %}
),

model_features as (
    select
        cast(null as string) as lookalike,
        cast(null as string) as feature
    where 1 = 0
    {%- for definition in lookalikes %}
        {%- for feature in tagwise.lookalike_model_features(definition, catalog) %}
            union all
            select
                {{ tagwise.string_literal(definition.audience) }} as lookalike,
                {{ tagwise.string_literal(feature) }} as feature
        {%- endfor %}
    {%- endfor %}
),

model_lookalikes as (
    select distinct lookalike from model_features
),

-- Every profiled customer for every lookalike: seed (training or held out) or not.
population as (
    select
        model_lookalikes.lookalike,
        profiled.customer_key,
        seeds.customer_key is not null as is_seed,
        coalesce(seeds.is_held_out, false) as is_held_out
    from profiled
    cross join model_lookalikes
    left join seeds
        on
            model_lookalikes.lookalike = seeds.lookalike
            and profiled.customer_key = seeds.customer_key
),

group_sizes as (
    select
        lookalike,
        sum(case when is_seed and not is_held_out then 1 else 0 end) as training_seed,
        sum(case when is_seed then 0 else 1 end) as background
    from population
    group by lookalike
),

observed as (
    select
        population.lookalike,
        population.customer_key,
        population.is_seed,
        population.is_held_out,
        feature_values.feature,
        feature_values.feature_value
    from population
    inner join model_features
        on population.lookalike = model_features.lookalike
    inner join feature_values
        on
            population.customer_key = feature_values.customer_key
            and model_features.feature = feature_values.feature
),

value_counts as (
    select
        lookalike,
        feature,
        feature_value,
        sum(case when is_seed and not is_held_out then 1 else 0 end) as in_seed,
        sum(case when is_seed then 0 else 1 end) as in_background
    from observed
    group by lookalike, feature, feature_value
),

feature_levels as (
    select
        lookalike,
        feature,
        count(*) as levels
    from value_counts
    group by lookalike, feature
),

-- The fit: each value's weight is the log ratio of its smoothed share of the training
-- seed to its share of the background.
weights as (
    select
        value_counts.lookalike,
        value_counts.feature,
        value_counts.feature_value,
        ln(cast(value_counts.in_seed + 1 as double) / (group_sizes.training_seed + feature_levels.levels))
        - ln(cast(value_counts.in_background + 1 as double) / (group_sizes.background + feature_levels.levels))
            as weight
    from value_counts
    inner join feature_levels
        on
            value_counts.lookalike = feature_levels.lookalike
            and value_counts.feature = feature_levels.feature
    inner join group_sizes
        on value_counts.lookalike = group_sizes.lookalike
),

contributions as (
    select
        observed.lookalike,
        observed.customer_key,
        observed.feature,
        observed.feature_value,
        weights.weight
    from observed
    inner join weights
        on
            observed.lookalike = weights.lookalike
            and observed.feature = weights.feature
            and observed.feature_value = weights.feature_value
),

-- Rounded, so that the order of a sum (which differs between engines and runs) never
-- reorders two customers with the same values.
evidence as (
    select
        lookalike,
        customer_key,
        round(sum(weight), 9) as log_likelihood_ratio
    from contributions
    group by lookalike, customer_key
),

scored as (
    select
        population.lookalike,
        population.customer_key,
        population.is_seed,
        population.is_held_out,
        round(
            1 / (1 + exp(-(
                ln(cast(greatest(group_sizes.training_seed, 1) as double) / greatest(group_sizes.background, 1))
                + coalesce(evidence.log_likelihood_ratio, 0)
            ))),
            6
        ) as score,
        coalesce(evidence.log_likelihood_ratio, 0) as log_likelihood_ratio
    from population
    inner join group_sizes
        on population.lookalike = group_sizes.lookalike
    left join evidence
        on
            population.lookalike = evidence.lookalike
            and population.customer_key = evidence.customer_key
),

ranked as (
    select
        *,
        case
            when not is_seed then
                row_number() over (
                    partition by lookalike, is_seed
                    order by log_likelihood_ratio desc, customer_key asc
                )
        end as candidate_rank,
        -- The held-out part of the seed ranked among those outside it: the quality.
        case
            when not is_seed or is_held_out then
                row_number() over (
                    partition by lookalike, (not is_seed or is_held_out)
                    order by log_likelihood_ratio desc, customer_key asc
                )
        end as evaluation_rank
    from scored
),

memberships as (
    select
        ranked.*,
        {%- if lookalikes %}
            case
                {%- for definition in lookalikes %}
                    when ranked.lookalike = {{ tagwise.string_literal(definition.audience) }}
                        then
                            not ranked.is_seed
                            and group_sizes.training_seed > 0
                            {%- if definition.size %}
                                and ranked.candidate_rank <= {{ definition.size | int }}
                            {%- else %}
                                and ranked.score >= {{ definition.min_score }}
                            {%- endif %}
                {%- endfor %}
            end as is_member
        {%- else %}
            false as is_member
        {%- endif %}
    from ranked
    inner join group_sizes
        on ranked.lookalike = group_sizes.lookalike
),

-- The members' three values that raised their score most: the reason. Only members are
-- explained, so that the one sort per customer and feature is a member's, not everyone's.
-- Weights are rounded as the sum is: two values of equal weight (2.0x and 2.0x) differ in
-- their last bits between engines, and then the feature's name orders them.
member_drivers as (
    select
        contributions.lookalike,
        contributions.customer_key,
        contributions.weight,
        contributions.feature_value || ' ('
        || cast(cast(round(exp(contributions.weight), 1) as decimal(18, 1)) as string)
        || 'x as common in the seed)' as driver,
        row_number() over (
            partition by contributions.lookalike, contributions.customer_key
            order by round(contributions.weight, 9) desc, contributions.feature asc
        ) as driver_rank
    from contributions
    inner join memberships
        on
            contributions.lookalike = memberships.lookalike
            and contributions.customer_key = memberships.customer_key
    where memberships.is_member
),

drivers as (
    select
        lookalike,
        customer_key,
        concat_ws(
            '; ',
            max(case when driver_rank = 1 and weight > 0 then driver end),
            max(case when driver_rank = 2 and weight > 0 then driver end),
            max(case when driver_rank = 3 and weight > 0 then driver end)
        ) as drivers
    from member_drivers
    group by lookalike, customer_key
)

select
    memberships.lookalike,
    memberships.customer_key,
    memberships.is_seed,
    memberships.is_held_out,
    memberships.score,
    memberships.candidate_rank,
    memberships.evaluation_rank,
    memberships.is_member,
    {%- if lookalikes %}
        case
            {%- for definition in lookalikes %}
                when memberships.is_member and memberships.lookalike = {{ tagwise.string_literal(definition.audience) }}
                    then
                        {{ tagwise.string_literal("like " ~ tagwise.lookalike_seed_name(definition) ~ ": score ") }}
                        || cast(cast(memberships.score as decimal(18, 3)) as string)
                        || coalesce('; ' || nullif(drivers.drivers, ''), '')
            {%- endfor %}
        end as reason,
    {%- else %}
        cast(null as string) as reason,
    {%- endif %}
    {{ tagwise.as_of_date() }} as as_of_date
from memberships
left join drivers
    on
        memberships.lookalike = drivers.lookalike
        and memberships.customer_key = drivers.customer_key
