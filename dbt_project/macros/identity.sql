{#- Trimmed, lower-cased email, or null when it is not a syntactically valid address. -#}
{% macro normalized_email(column) -%}
    case
        when {{ tagwise.regexp_like("lower(trim(" ~ column ~ "))", var("email_pattern")) }}
            then lower(trim({{ column }}))
    end
{%- endmacro %}

{#-
    Rows of `relation` with the customer_key of the person they identify: by customer_id
    when it is known as of D, else by normalized email when one person holds it. `people` maps every source
    customer_id to its key and current email (int_identity__people or a subset of it).
-#}
{% macro with_customer_key(relation, people) -%}
    select
        events.*,
        coalesce(by_id.customer_key, by_email.customer_key) as customer_key
    from {{ relation }} as events
    left join {{ people }} as by_id
        on events.customer_id = by_id.customer_id
    left join (
        {#- An email several people hold (a blocklisted or over-limit one) names none. -#}
        select
            email,
            min(customer_key) as customer_key
        from {{ people }}
        where email is not null
        group by email
        having count(distinct customer_key) = 1
    ) as by_email
        on events.email = by_email.email
{%- endmacro %}

{#- The identity catalog (meta of int_identity__clusters in identity_catalog.yml, checked
    by tagwise.catalog.identity before dbt reads it): extra identifiers, rules in priority
    order, the optional probabilistic rule, blocklist and limits. -#}
{% macro identity_catalog() -%}
    {%- set meta = tagwise.model_meta("int_identity__clusters") -%}
    {{- return({
        "extra_identifiers": meta.get("extra_identifiers") or [],
        "rules": meta.get("rules") or [],
        "probabilistic": meta.get("probabilistic"),
        "blocklist": meta.get("blocklist") or {},
        "limits": meta.get("limits") or {},
    }) -}}
{%- endmacro %}

{#- Every identifier the catalog compares, in the order the rules first name them: the
    deterministic rules' and the probabilistic rule's fields and blocking. -#}
{% macro identity_compared_identifiers(catalog) -%}
    {%- set found = [] -%}
    {%- set lists = [] -%}
    {%- for rule in catalog.rules -%}{%- do lists.append(rule.match) -%}{%- endfor -%}
    {%- if catalog.probabilistic -%}
        {%- do lists.append(catalog.probabilistic.fields) -%}
        {%- for fields in catalog.probabilistic.blocking -%}{%- do lists.append(fields) -%}{%- endfor -%}
    {%- endif -%}
    {%- for fields in lists -%}
        {%- for field in fields if field not in found -%}{%- do found.append(field) -%}{%- endfor -%}
    {%- endfor -%}
    {{- return(found) -}}
{%- endmacro %}

{#- How many source customer ids may share a rule's values before they are not used to
    merge: the smallest limit of the rule's identifiers, else the default (5). -#}
{% macro identity_rule_limit(catalog, fields) -%}
    {%- set limits = [] -%}
    {%- for field in fields if field in catalog.limits -%}{%- do limits.append(catalog.limits[field]) -%}{%- endfor -%}
    {{- return(limits | min if limits else catalog.limits.get("default", 5)) -}}
{%- endmacro %}

{#- Why an identifier value is never used to merge, or null: a blocklisted value, a value
    matching a blocklisted pattern, or one digit repeated six times or more (0000000000,
    +1111111111; a postcode such as 2222 is real). -#}
{% macro identity_blocked_because(value) -%}
    {%- set blocklist = tagwise.identity_catalog().blocklist -%}
    case
        {%- if blocklist.get("values") %}
            when {{ value }} in (
                {%- for entry in blocklist["values"] %}{{ tagwise.string_literal(entry) }}{{ ", " if not loop.last }}{% endfor -%}
            ) then 'blocklisted value'
        {%- endif %}
        {%- for pattern in blocklist.get("patterns") or [] %}
            when {{ tagwise.matches_pattern(value, pattern) }}
                then {{ tagwise.string_literal("blocklisted pattern " ~ pattern) }}
        {%- endfor %}
        {%- if blocklist.get("repeated_digits") %}
            when
                {{ tagwise.matches_pattern(value, "^[+]?[0-9]{6,}$") }}
                and replace(replace({{ value }}, '+', ''), substr(replace({{ value }}, '+', ''), 1, 1), '') = ''
                then 'one repeated digit'
        {%- endif %}
    end
{%- endmacro %}

{#- A profile identifier's value in a current customer record (int_identity__identifier_values),
    as rules compare it: email normalised, other text trimmed and lower-cased. -#}
{% macro identity_value(identifier) -%}
    {%- if identifier == "email" -%}
        email
    {%- else -%}
        nullif(lower(trim(cast({{ identifier }} as string))), '')
    {%- endif -%}
{%- endmacro %}

{#- Fails when a link joins records of two people: the label propagation of
    int_identity__clusters took fewer rounds than a chain of links needed. -#}
{% test links_join_one_person(model, clusters) %}
    select
        links.rule,
        links.customer_id,
        links.linked_customer_id
    from {{ model }} as links
    inner join {{ clusters }} as one
        on links.customer_id = one.customer_id
    inner join {{ clusters }} as other
        on links.linked_customer_id = other.customer_id
    where one.customer_key <> other.customer_key
{% endtest %}

{#- Records the probabilistic rule (the `matches` CTE of the calling model) pairs with
    more other records than its limit allows in one person, with how many: none of their
    matches merges (a junk record would otherwise chain strangers together). -#}
{% macro identity_over_linked_records(catalog) -%}
    {%- set fields = catalog.probabilistic.fields if catalog.probabilistic else [] -%}
    select
        customer_id,
        count(*) as matched_records
    from (
        select customer_id from matches
        union all
        select linked_customer_id as customer_id from matches
    ) as ends
    group by customer_id
    having count(*) > {{ tagwise.identity_rule_limit(catalog, fields) }} - 1
{%- endmacro %}

{#- The order that puts a subject's latest consent change first (SPEC 3.6): by occurred_at;
    ties fail closed (a withdrawal beats pending, pending beats granted), then the higher
    event_id. -#}
{% macro latest_consent_change_first() -%}
    occurred_at desc,
    case status when 'withdrawn' then 0 when 'pending' then 1 else 2 end,
    event_id desc
{%- endmacro %}
