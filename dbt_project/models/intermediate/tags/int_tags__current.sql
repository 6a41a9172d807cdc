{#- The governed tag set as of D, before tagged_since is read from history:
    rule and model tags (the catalog's rules and the interests model's
    likely-<category>-buyer) unless overridden by a manual remove; manual adds (they take the
    place of a rule tag of the same name); active taxonomy tags only; no profiling tag
    for a customer who objected; one tag per exclusive group, the lowest priority winning. -#}
with rule_tags as (
    select * from {{ ref('int_tags__rule_matches') }}
    union all
    select * from {{ ref('int_tags__interest_matches') }}
),

manual_state as (
    select * from {{ ref('int_tags__manual_state') }}
),

taxonomy as (
    select * from {{ ref('int_tags__vocabulary') }}
),

objections as (
    select * from {{ ref('int_privacy__profiling_objections') }}
),

-- A manual add takes the place of a rule tag of the same name; a manual remove
-- suppresses it. One full outer join says both.
candidates as (
    select
        coalesce(rule_tags.customer_key, manual_state.customer_key) as customer_key,
        coalesce(rule_tags.tag, manual_state.tag) as tag,
        case when manual_state.action = 'add' then 'manual' else rule_tags.source end as source,
        case when manual_state.action = 'add' then cast(null as string) else rule_tags.rule_version end
            as rule_version,
        case
            when manual_state.action = 'add'
                then
                    'added by ' || manual_state.actor || ' (' || manual_state.team || ') on '
                    || cast(cast(manual_state.created_at as date) as string)
                    || coalesce(': ' || manual_state.note, '')
            else rule_tags.evidence
        end as evidence,
        case when manual_state.action = 'add' then manual_state.actor end as actor
    from rule_tags
    full outer join manual_state
        on
            rule_tags.customer_key = manual_state.customer_key
            and rule_tags.tag = manual_state.tag
    where coalesce(manual_state.action, 'add') = 'add'
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
