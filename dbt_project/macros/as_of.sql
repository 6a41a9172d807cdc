{#
    The as-of date D of a run: var `as_of_date` (YYYY-MM-DD), else today in UTC.
    Everything is computed as of the end of day D: an event counts when its timestamp is
    before as_of_end(), the first moment after D.
#}
{% macro as_of_date_string() %}
    {%- set value = var("as_of_date", "") | string | trim -%}
    {%- if value in ("", "none", "None") -%}
        {%- set value = modules.datetime.datetime.utcnow().strftime("%Y-%m-%d") -%}
    {%- endif -%}
    {%- if not modules.re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", value) -%}
        {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{- value -}}
{% endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}

{% macro as_of_end() -%}
    cast({{ dbt.dateadd("day", 1, as_of_date()) }} as timestamp)
{%- endmacro %}

{#- Events of the last n days: UTC date d with D - n < d <= D. -#}
{% macro in_last_days(timestamp_column, days) -%}
    ({{ timestamp_column }} >= cast({{ dbt.dateadd("day", 1 - days, as_of_date()) }} as timestamp)
        and {{ timestamp_column }} < {{ as_of_end() }})
{%- endmacro %}

{#- Whole years from `birth_date` to `on_date`. -#}
{% macro age_in_years(birth_date, on_date) -%}
    (
        extract(year from {{ on_date }}) - extract(year from {{ birth_date }})
        - case
            when extract(month from {{ on_date }}) * 100 + extract(day from {{ on_date }})
                < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
                then 1
            else 0
        end
    )
{%- endmacro %}
