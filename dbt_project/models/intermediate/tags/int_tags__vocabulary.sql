{#- The taxonomy as tags are given: each family row (a tag holding `<category>`) made
    into one tag per product category, named as catalog names are (tagwise.name_part:
    `Frozen Pizza` makes likely-frozen-pizza-buyer); `family_tag` names the row it came from. -#}
with taxonomy as (
    select * from {{ ref('tag_taxonomy') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

categories as (
    select
        {{ tagwise.name_part('category') }} as category_name,
        min(category) as category
    from products
    where {{ tagwise.name_part('category') }} <> ''
    group by {{ tagwise.name_part('category') }}
),

plain as (
    select
        tag,
        category,
        description,
        owner,
        status,
        replaced_by,
        exclusive_group,
        priority,
        requires_profiling_consent,
        cast(null as string) as family_tag
    from taxonomy
    where tag not like '%<category>%'
),

families as (
    select
        replace(taxonomy.tag, '<category>', categories.category_name) as tag,
        taxonomy.category,
        replace(taxonomy.description, 'product category', 'product category: ' || categories.category) as description,
        taxonomy.owner,
        taxonomy.status,
        taxonomy.replaced_by,
        taxonomy.exclusive_group,
        taxonomy.priority,
        taxonomy.requires_profiling_consent,
        taxonomy.tag as family_tag
    from taxonomy
    cross join categories
    where taxonomy.tag like '%<category>%'
)

select * from plain
union all
select * from families
