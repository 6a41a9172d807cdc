{#- Manual tag actions that were not applied, with who typed them and why, so the team
    can be told: unknown tags, deprecated tags, unknown customers. -#}
select
    customer_id,
    tag_text,
    normalized_tag,
    action,
    actor,
    team,
    created_at,
    note,
    quarantine_reason,
    {{ tagwise.as_of_date() }} as as_of_date
from {{ ref('int_tags__manual_actions') }}
where quarantine_reason is not null
