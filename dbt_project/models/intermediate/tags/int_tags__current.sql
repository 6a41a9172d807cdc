{#- The governed tag set as of D, before tagged_since is read from history:
    rule and model tags unless overridden by a manual remove; manual adds (they take the
    place of a rule tag of the same name); active taxonomy tags only; no profiling tag
    for a customer who objected; one tag per exclusive group, the lowest priority winning. -#}
with rule_tags as (
    select * from {{ ref('int_tags__rule_matches') }}
),

manual_state as (
    select * from {{ ref('int_tags__manual_state') }}
),

taxonomy as (
    select * from {{ ref('tag_taxonomy') }}
),

objections as (
    select * from {{ ref('int_privacy__profiling_objections') }}
),

unoverridden_rule_tags as (
    select
        rule_tags.customer_key,
        rule_tags.tag,
        rule_tags.source,
        rule_tags.rule_version,
        rule_tags.evidence,
        cast(null as string) as actor
    from rule_tags
    left join manual_state
        on
            rule_tags.customer_key = manual_state.customer_key
            and rule_tags.tag = manual_state.tag
    where manual_state.customer_key is null
),

manual_tags as (
    select
        customer_key,
        tag,
        'manual' as source,
        cast(null as string) as rule_version,
        'added by ' || actor || ' (' || team || ') on ' || cast(cast(created_at as date) as string)
        || coalesce(': ' || note, '') as evidence,
        actor
    from manual_state
    where action = 'add'
),

candidates as (
    select * from unoverridden_rule_tags
    union all
    select * from manual_tags
),

governed as (
    select
        candidates.*,
        taxonomy.category,
        taxonomy.exclusive_group,
        taxonomy.priority
    from candidates
    inner join taxonomy
        on candidates.tag = taxonomy.tag
    left join objections
        on candidates.customer_key = objections.customer_key
    where
        taxonomy.status = 'active'
        and not (taxonomy.requires_profiling_consent and objections.customer_key is not null)
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_key, coalesce('group:' || exclusive_group, 'tag:' || tag)
            order by priority, tag
        ) as group_rank
    from governed
)

select
    customer_key,
    tag,
    category,
    source,
    rule_version,
    evidence,
    actor
from ranked
where group_rank = 1
