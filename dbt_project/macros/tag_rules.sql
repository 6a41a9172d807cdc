{#-
    Rule tags from the declarative catalog (meta.rules of int_tags__rule_matches in
    tag_catalog.yml). Each rule: tag, when (a SQL condition over int_tags__inputs),
    evidence (a sentence template), and optionally source (rule or model) and unless
    (tags whose holders never get this one).
-#}

{#- A hash of everything that defines the rule, so history shows which definition tagged. -#}
{% macro tag_rule_version(rule) -%}
    {{- local_md5(rule.tag ~ "|" ~ rule.when ~ "|" ~ rule.evidence ~ "|" ~ (rule.source or "rule") ~ "|" ~ ((rule.unless or []) | sort | join(","))) -}}
{%- endmacro %}

{#-
    SQL for an evidence template: literal text with {column} placeholders, optionally
    formatted as {column:pct} (a share shown as a whole percentage) or {column:money}
    (two decimals). A null value reads "n/a".
-#}
{% macro evidence_sql(template) -%}
    {%- set pieces = modules.re.split("\\{([a-z0-9_]+)(?::([a-z]+))?\\}", template) -%}
    {%- set parts = [] -%}
    {%- for index in range(0, pieces | length, 3) -%}
        {%- if pieces[index] -%}
            {%- do parts.append(tagwise.string_literal(pieces[index])) -%}
        {%- endif -%}
        {%- if index + 1 < pieces | length -%}
            {%- set column = pieces[index + 1] -%}
            {%- set style = pieces[index + 2] -%}
            {%- if style == "pct" -%}
                {%- set shown = "cast(cast(round(" ~ column ~ " * 100) as bigint) as string) || '%'" -%}
            {%- elif style == "money" -%}
                {%- set shown = "cast(cast(" ~ column ~ " as decimal(38, 2)) as string)" -%}
            {%- else -%}
                {%- set shown = "cast(" ~ column ~ " as string)" -%}
            {%- endif -%}
            {%- do parts.append("coalesce(" ~ shown ~ ", 'n/a')") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- Rules whose source is the model hold only while its fit is usable (fit_status, one row:
    int_model__fit_status); the release warns when it is not. -#}
{% macro tag_rule_matches(rules, inputs, fit_status) -%}
    with inputs as (
        select * from {{ inputs }}
    ),

    fit_status as (
        select * from {{ fit_status }}
    ),

    matches as (
        select
            cast(null as string) as customer_key,
            cast(null as string) as tag,
            cast(null as string) as source,
            cast(null as string) as rule_version,
            cast(null as string) as evidence
        where 1 = 0
        {%- for rule in rules %}
            union all
            select
                customer_key,
                {{ tagwise.string_literal(rule.tag) }} as tag,
                {{ tagwise.string_literal(rule.source or "rule") }} as source,
                {{ tagwise.string_literal(tagwise.tag_rule_version(rule)) }} as rule_version,
                {{ tagwise.evidence_sql(rule.evidence) }} as evidence
            from inputs
            where ({{ rule.when }})
            {%- if rule.source == "model" %}
                and exists (select 1 from fit_status where is_usable)
            {%- endif %}
        {%- endfor %}
    ),

    exclusions as (
        select
            cast(null as string) as tag,
            cast(null as string) as excluded_by
        {%- for rule in rules %}{% for other in rule.unless or [] %}
            union all
            select
                {{ tagwise.string_literal(rule.tag) }} as tag,
                {{ tagwise.string_literal(other) }} as excluded_by
        {%- endfor %}{% endfor %}
    )

    select matches.*
    from matches
    where not exists (
        select 1
        from exclusions
        inner join matches as excluding
            on exclusions.excluded_by = excluding.tag
        where
            exclusions.tag = matches.tag
            and excluding.customer_key = matches.customer_key
    )
{%- endmacro %}
