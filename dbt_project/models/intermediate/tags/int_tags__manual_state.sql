{#- The latest valid manual action per (customer, tag): an add, or a remove that overrides
    the rule tag until a later add. Two actions at the same moment: the remove wins. -#}
with valid_actions as (
    select * from {{ ref('int_tags__manual_actions') }}
    where quarantine_reason is null
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_key, tag
            order by created_at desc, action desc
        ) as action_rank
    from valid_actions
)

select
    customer_key,
    tag,
    action,
    actor,
    team,
    created_at,
    note
from ranked
where action_rank = 1
