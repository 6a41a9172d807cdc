{#- How well each lookalike audience finds its seed (SPEC 3.10), as of D: the held-out share
    of the seed, which the model never saw, ranked among everyone outside the seed; recall
    is the share of it within the audience's size, against the share a random draw of that
    size would find (size over the pool). A lift near 1 means the features say nothing
    about the seed. -#}
{%- set catalog = tagwise.segment_catalog() -%}
{%- set lookalikes = catalog.get("lookalikes", []) -%}

with scores as (
    select * from {{ ref('int_segments__lookalike_scores') }}
),

sizes as (
    select
        lookalike,
        count(case when is_seed then 1 end) as seed_size,
        count(case when is_seed and not is_held_out then 1 end) as training_size,
        count(case when is_held_out then 1 end) as held_out_size,
        count(case when is_member then 1 end) as audience_size,
        count(case when not is_seed or is_held_out then 1 end) as evaluation_pool
    from scores
    group by lookalike
),

found as (
    select
        scores.lookalike,
        count(
            case when scores.is_held_out and scores.evaluation_rank <= sizes.audience_size then 1 end
        ) as held_out_found
    from scores
    inner join sizes
        on scores.lookalike = sizes.lookalike
    group by scores.lookalike
),

definitions as (
    select
        cast(null as string) as lookalike,
        cast(null as string) as seed,
        cast(null as string) as features
    where 1 = 0
    {%- for definition in lookalikes %}
        union all
        select
            {{ tagwise.string_literal(definition.audience) }} as lookalike,
            {{ tagwise.string_literal(tagwise.lookalike_seed_name(definition)) }} as seed,
            {{ tagwise.string_literal(tagwise.lookalike_model_features(definition, catalog) | join(", ")) }} as features
    {%- endfor %}
)

select
    sizes.lookalike,
    definitions.seed,
    definitions.features,
    sizes.seed_size,
    sizes.training_size,
    sizes.held_out_size,
    sizes.audience_size,
    found.held_out_found,
    case when sizes.held_out_size > 0 then cast(found.held_out_found as double) / sizes.held_out_size end as recall,
    case when sizes.evaluation_pool > 0 then cast(sizes.audience_size as double) / sizes.evaluation_pool end
        as random_recall,
    case
        when sizes.held_out_size > 0 and sizes.audience_size > 0
            then
                (cast(found.held_out_found as double) / sizes.held_out_size)
                / (cast(sizes.audience_size as double) / sizes.evaluation_pool)
    end as lift,
    {{ tagwise.as_of_date() }} as as_of_date
from sizes
inner join found
    on sizes.lookalike = found.lookalike
inner join definitions
    on sizes.lookalike = definitions.lookalike
