{#- Custom schemas are used as named (marts, restricted, ...) rather than prefixed with the
    target schema: the published contract says "schema marts". -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
