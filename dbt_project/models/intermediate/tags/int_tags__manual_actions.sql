{#- Every manual tag action by the end of D, normalized (trim, lower-case, spaces and `_`
    to `-`), synonyms resolved, and checked: an unknown customer, an unknown tag or a
    deprecated tag is a reason to quarantine the action. Actions on erased people are
    dropped with everything else about them. -#}
with actions as (
    select * from {{ ref('stg_crm__manual_tags') }}
    where created_at < {{ tagwise.as_of_end() }}
),

taxonomy as (
    select * from {{ ref('tag_taxonomy') }}
),

synonyms as (
    select * from {{ ref('tag_synonyms') }}
),

clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

erased as (
    select * from {{ ref('int_identity__erased_people') }}
),

normalized as (
    select
        *,
        replace(replace(replace(replace(lower(trim(tag_text)), ' ', '-'), '_', '-'), '--', '-'), '--', '-')
            as normalized_tag
    from actions
),

resolved as (
    select
        normalized.*,
        coalesce(synonyms.tag, normalized.normalized_tag) as tag,
        clusters.customer_key,
        erased.customer_key is not null as is_erased
    from normalized
    left join synonyms
        on normalized.normalized_tag = synonyms.alias
    left join clusters
        on normalized.customer_id = clusters.customer_id
    left join erased
        on clusters.customer_key = erased.customer_key
)

select
    resolved.customer_id,
    resolved.customer_key,
    resolved.tag_text,
    resolved.normalized_tag,
    resolved.tag,
    resolved.action,
    resolved.actor,
    resolved.team,
    resolved.created_at,
    resolved.note,
    case
        when resolved.customer_key is null
            then 'unknown customer ' || resolved.customer_id || ' as of ' || cast({{ tagwise.as_of_date() }} as string)
        when taxonomy.tag is null then 'unknown tag ' || resolved.normalized_tag
        when taxonomy.status = 'deprecated'
            then 'deprecated tag ' || resolved.tag || coalesce(', use ' || taxonomy.replaced_by, '')
    end as quarantine_reason
from resolved
left join taxonomy
    on resolved.tag = taxonomy.tag
where not resolved.is_erased
