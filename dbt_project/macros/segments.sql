{#-
    Segment membership from the declarative catalog (meta of int_segments__assignments in
    segment_catalog.yml): primary segments as one case expression, first match wins;
    audiences as one select each; generated audiences named from a column's values.
-#}

{#- has_tag('x') reads the `|tag|tag|` list of int_segments__inputs. -#}
{% macro segment_condition(condition) -%}
    {{- modules.re.sub(var("has_tag_pattern"), "(current_tags like '%|\\1|%')", condition) -}}
{%- endmacro %}

{% macro segment_version(definition, position="") -%}
    {{- local_md5((definition.segment or definition.audience or definition.prefix) ~ "|" ~ (definition.when or definition.column) ~ "|" ~ position) -}}
{%- endmacro %}

{#- `|email|sms|` for a segment the destination catalog's destinations select, else `|`. -#}
{% macro segment_destinations(kind, name) -%}
    {%- set receivers = [] -%}
    {%- for destination in tagwise.destination_catalog() -%}
        {%- if name in ((destination.selects or {}).get(kind) or []) -%}{%- do receivers.append(destination.destination) -%}{%- endif -%}
    {%- endfor -%}
    {{ tagwise.string_literal("|" ~ receivers | join("|") ~ ("|" if receivers else "")) }}
{%- endmacro %}

{% macro segment_assignments(catalog, inputs) -%}
    with inputs as (
        select * from {{ inputs }}
    ),

    primary_assignment as (
        select
            customer_key,
            case
                {%- for definition in catalog.get("primary", []) %}
                    when {{ tagwise.segment_condition(definition.when) }} then {{ tagwise.string_literal(definition.segment) }}
                {%- endfor %}
            end as segment
        from inputs
    ),

    versions as (
        select
            cast(null as string) as segment,
            cast(null as string) as definition_version,
            cast(null as string) as destinations
        where 1 = 0
        {%- for definition in catalog.get("primary", []) %}
            union all
            select
                {{ tagwise.string_literal(definition.segment) }} as segment,
                {{ tagwise.string_literal(tagwise.segment_version(definition, loop.index)) }} as definition_version,
                {{ tagwise.segment_destinations("segments", definition.segment) }} as destinations
        {%- endfor %}
    )

    select
        primary_assignment.customer_key,
        primary_assignment.segment,
        'primary' as segment_type,
        versions.definition_version,
        versions.destinations
    from primary_assignment
    inner join versions
        on primary_assignment.segment = versions.segment
    {%- for definition in catalog.get("audiences", []) %}
        union all
        select
            customer_key,
            {{ tagwise.string_literal(definition.audience) }} as segment,
            'audience' as segment_type,
            {{ tagwise.string_literal(tagwise.segment_version(definition)) }} as definition_version,
            {{ tagwise.segment_destinations("audiences", definition.audience) }} as destinations
        from inputs
        where {{ tagwise.segment_condition(definition.when) }}
    {%- endfor %}
    {%- for definition in catalog.get("generated", []) %}
        union all
        select
            customer_key,
            {{ tagwise.string_literal(definition.prefix) }} || {{ definition.column }} as segment,
            'audience' as segment_type,
            {{ tagwise.string_literal(tagwise.segment_version(definition)) }} as definition_version,
            {{ tagwise.segment_destinations("generated", definition.prefix) }} as destinations
        from inputs
        where {{ definition.column }} is not null
    {%- endfor %}
{%- endmacro %}
