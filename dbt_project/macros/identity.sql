{#- Trimmed, lower-cased email, or null when it is not a syntactically valid address. -#}
{% macro normalized_email(column) -%}
    case
        when {{ tagwise.regexp_like("lower(trim(" ~ column ~ "))", var("email_pattern")) }}
            then lower(trim({{ column }}))
    end
{%- endmacro %}

{#-
    Rows of `relation` with the customer_key of the person they identify: by customer_id
    when it is known as of D, else by normalized email. `people` maps every source
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
        select distinct
            email,
            customer_key
        from {{ people }}
        where email is not null
    ) as by_email
        on events.email = by_email.email
{%- endmacro %}
