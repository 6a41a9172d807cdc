{#- The catalogs as published (SPEC 3): every tag rule, primary segment, audience,
    generated audience and destination with its description, condition and version, so
    a BI user reads what a tag or segment means beside its members, and which definition
    (the version in customer_tags.rule_version and segment_membership.definition_version)
    placed them. A tag's description is its taxonomy row's. -#}
with taxonomy as (
    select * from {{ ref('tag_taxonomy') }}
),

definitions as (
    {%- for row in tagwise.catalog_definition_rows() %}
        select
            {{ tagwise.string_literal(row.type) }} as definition_type,
            {{ tagwise.string_literal(row.name) }} as definition_name,
            {{ tagwise.string_literal(row.description) if row.description else "cast(null as string)" }}
                as definition_description,
            {{ tagwise.string_literal(row.condition) }} as definition_condition,
            {{ tagwise.string_literal(row.version) }} as definition_version,
            {{ loop.index }} as catalog_position
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select
    definitions.definition_type,
    definitions.definition_name,
    definitions.definition_condition,
    definitions.definition_version,
    definitions.catalog_position,
    coalesce(definitions.definition_description, taxonomy.description) as description,
    {{ tagwise.as_of_date() }} as as_of_date
from definitions
left join taxonomy
    on
        definitions.definition_type = 'tag'
        and definitions.definition_name = taxonomy.tag
