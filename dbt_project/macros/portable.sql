{#- Engine-specific SQL, dispatched per adapter so that models stay portable. -#}

{% macro regexp_like(expression, pattern) -%}
    {{ return(adapter.dispatch("regexp_like", "tagwise")(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_like(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_like(expression, pattern) -%}
    ({{ expression }} rlike '{{ pattern }}')
{%- endmacro %}

{#- Whether a text matches a regular expression given as text (a catalog's pattern): the
    pattern is quoted as the engine reads literals, so its backslashes reach the engine. -#}
{% macro matches_pattern(expression, pattern) -%}
    {{ return(adapter.dispatch("matches_pattern", "tagwise")(expression, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ tagwise.string_literal(pattern) }})
{%- endmacro %}

{% macro spark__matches_pattern(expression, pattern) -%}
    ({{ expression }} rlike {{ tagwise.string_literal(pattern) }})
{%- endmacro %}

{#- Sorted, distinct values of a text column within a group, joined by the separator. -#}
{% macro sorted_list_agg(expression, separator=", ") -%}
    {{ return(adapter.dispatch("sorted_list_agg", "tagwise")(expression, separator)) }}
{%- endmacro %}

{% macro default__sorted_list_agg(expression, separator) -%}
    array_to_string(list_sort(list(distinct {{ expression }})), '{{ separator }}')
{%- endmacro %}

{% macro spark__sorted_list_agg(expression, separator) -%}
    array_join(array_sort(collect_set({{ expression }})), '{{ separator }}')
{%- endmacro %}

{#- Whole days from date `start` to date `end` (end - start). -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch("days_between", "tagwise")(start, end)) }}
{%- endmacro %}

{% macro default__days_between(start, end) -%}
    ({{ end }} - {{ start }})
{%- endmacro %}

{% macro spark__days_between(start, end) -%}
    cast(datediff({{ end }}, {{ start }}) as bigint)
{%- endmacro %}

{#- total / count to two decimals, rounded half away from zero from the exact quotient.
    Spark divides decimals exactly; DuckDB divides them as doubles (261.965 becomes
    261.96499...), so it divides whole thousandths of cents instead. -#}
{% macro decimal_average(total, count) -%}
    {{ return(adapter.dispatch("decimal_average", "tagwise")(total, count)) }}
{%- endmacro %}

{% macro default__decimal_average(total, count) -%}
    cast(
        cast(cast({{ total }} * 100 as hugeint) * 10 // {{ count }} as decimal(38, 0)) * 0.001
        as decimal(38, 2)
    )
{%- endmacro %}

{% macro spark__decimal_average(total, count) -%}
    cast({{ total }} / {{ count }} as decimal(38, 2))
{%- endmacro %}

{#- A SQL string literal of any text (catalog names, evidence), quoted as the engine reads
    it: DuckDB takes backslashes literally and doubles quotes; Spark reads backslash escapes. -#}
{% macro string_literal(text) -%}
    {{ return(adapter.dispatch("string_literal", "tagwise")(text)) }}
{%- endmacro %}

{% macro default__string_literal(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__string_literal(text) -%}
    '{{ text | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- Lower-case hex SHA-256 of a text. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch("sha256_hex", "tagwise")(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro spark__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{#- Every match of `pattern` in a text replaced (DuckDB replaces the first only unless told). -#}
{% macro regexp_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch("regexp_replace_all", "tagwise")(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#- A number in [0, 1) from the first 32 bits of the MD5 of a text: the same on every
    engine and in Python (tagwise.holdout.holdout_draw). -#}
{% macro md5_fraction(expression) -%}
    {{ return(adapter.dispatch("md5_fraction", "tagwise")(expression)) }}
{%- endmacro %}

{% macro default__md5_fraction(expression) -%}
    cast(('0x' || substr(md5({{ expression }}), 1, 8)) as bigint) / 4294967296.0
{%- endmacro %}

{% macro spark__md5_fraction(expression) -%}
    cast(conv(substr(md5({{ expression }}), 1, 8), 16, 10) as bigint) / 4294967296.0
{%- endmacro %}
