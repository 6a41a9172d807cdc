{#- The tag rule inputs plus each customer's current tags as one `|tag|tag|` string, which
    has_tag('x') in a segment condition reads, and the evidence of each tag a segment
    condition names (evidence__<tag>), which the membership reasons quote. -#}
with inputs as (
    select * from {{ ref('int_tags__inputs') }}
),

current_tags as (
    select * from {{ ref('int_tags__current') }}
),

tag_lists as (
    select
        customer_key,
        {%- for tag in tagwise.segment_condition_tags() %}
            max(case when tag = {{ tagwise.string_literal(tag) }} then evidence end)
                as {{ tagwise.tag_evidence_column(tag) }},
        {%- endfor %}
        '|' || replace({{ tagwise.sorted_list_agg('tag') }}, ', ', '|') || '|' as current_tags
    from current_tags
    group by customer_key
)

select
    inputs.*,  -- noqa: AM04
    {%- for tag in tagwise.segment_condition_tags() %}
        tag_lists.{{ tagwise.tag_evidence_column(tag) }},
    {%- endfor %}
    coalesce(tag_lists.current_tags, '|') as current_tags
from inputs
left join tag_lists
    on inputs.customer_key = tag_lists.customer_key
