{#- The definitions are the segment catalog in segment_catalog.yml; lookalike audiences
    come scored from int_segments__lookalike_scores. -#}
{%- set catalog = tagwise.segment_catalog() -%}
{#- Outside the loop: dbt parses with an empty catalog and must still see the ref. -#}
{%- set lookalike_scores = ref("int_segments__lookalike_scores") -%}
{{ tagwise.segment_assignments(catalog, ref("int_segments__inputs")) }}
{%- for definition in catalog.get("lookalikes", []) %}
    union all
    select
        customer_key,
        lookalike as segment,
        'audience' as segment_type,
        {{ tagwise.string_literal(tagwise.lookalike_version(definition, catalog)) }} as definition_version,
        {{ tagwise.segment_destinations("audiences", definition.audience) }} as destinations,
        reason,
        false as is_holdout
    from {{ lookalike_scores }}
    where lookalike = {{ tagwise.string_literal(definition.audience) }} and is_member
{%- endfor %}
