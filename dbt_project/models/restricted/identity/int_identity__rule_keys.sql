{#- Each current record's values of every deterministic rule of the identity catalog, when
    it holds all of them unblocked and another record holds the same, with how many source
    customer ids share them and the rule's limit: shared by more, they are not used to
    merge (identity_guarded_values). Values no one else holds link no one and are left
    out: most records, at any scale. -#}
{%- set catalog = tagwise.identity_catalog() -%}
with identifier_values as (
    select * from {{ ref('int_identity__identifier_values') }}
    where blocked_because is null
),

rule_keys as (
    {%- for rule in catalog.rules %}
        select
            v0.customer_id,
            '{{ rule.rule }}' as rule,
            {{ loop.index }} as rule_priority,
            {{ tagwise.identity_rule_limit(catalog, rule.match) }} as rule_limit,
            {% for field in rule.match -%}
                '{{ field }}=' || v{{ loop.index0 }}.identifier_value{{ " || '; ' || " if not loop.last }}
            {%- endfor %} as matched_values
        from identifier_values as v0
        {%- for field in rule.match[1:] %}
            inner join identifier_values as v{{ loop.index }}
                on
                    v0.customer_id = v{{ loop.index }}.customer_id
                    and v{{ loop.index }}.identifier = '{{ field }}'
        {%- endfor %}
        where v0.identifier = '{{ rule.match[0] }}'
        {{ "union all" if not loop.last }}
    {%- else %}
        select
            cast(null as string) as customer_id,
            cast(null as string) as rule,
            0 as rule_priority,
            0 as rule_limit,
            cast(null as string) as matched_values
        from identifier_values
        where false
    {%- endfor %}
),

counted as (
    select
        *,
        count(*) over (partition by rule, matched_values) as records_sharing
    from rule_keys
)

select * from counted
where records_sharing > 1
