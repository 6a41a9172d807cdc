{#- The tag rule inputs plus each customer's current tags as one `|tag|tag|` string, which
    has_tag('x') in a segment condition reads. -#}
with inputs as (
    select * from {{ ref('int_tags__inputs') }}
),

current_tags as (
    select * from {{ ref('int_tags__current') }}
),

tag_lists as (
    select
        customer_key,
        '|' || replace({{ tagwise.sorted_list_agg('tag') }}, ', ', '|') || '|' as current_tags
    from current_tags
    group by customer_key
)

select
    inputs.*,  -- noqa: AM04
    coalesce(tag_lists.current_tags, '|') as current_tags
from inputs
left join tag_lists
    on inputs.customer_key = tag_lists.customer_key
