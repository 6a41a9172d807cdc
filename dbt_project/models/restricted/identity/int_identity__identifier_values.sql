{#- Each value a current customer record holds of an identifier the identity catalog
    compares, as the rules compare it (email normalised, phone in E.164, other text
    trimmed and lower-cased), with why it is never used to merge: the catalog's blocklist.
    Extra identifiers are the current version's, as ingestion kept them. -#}
{%- set catalog = tagwise.identity_catalog() -%}
{%- set compared = tagwise.identity_compared_identifiers(catalog) -%}
{%- set profile = compared | reject("in", ["phone"] + catalog.extra_identifiers) | list -%}
with records as (
    select * from {{ ref('int_identity__customer_records') }}
),

phone_numbers as (
    select * from {{ ref('stg_phones__phone_numbers') }}
),

extras as (
    select * from {{ ref('stg_identifiers__customer_identifiers') }}
),

identifier_values as (
    {%- for identifier in profile %}
        select
            customer_id,
            '{{ identifier }}' as identifier,
            {{ tagwise.identity_value(identifier) }} as identifier_value
        from records
        union all
    {%- endfor %}
    select
        records.customer_id,
        'phone' as identifier,
        phone_numbers.e164_phone as identifier_value
    from records
    inner join phone_numbers
        on records.phone = phone_numbers.phone
    where {{ "true" if "phone" in compared else "false" }}
    union all
    select
        records.customer_id,
        extras.identifier,
        nullif(extras.identifier_value, '') as identifier_value
    from records
    inner join extras
        on
            records.customer_id = extras.customer_id
            and records.updated_at = extras.updated_at
    where extras.identifier in (
        {%- for identifier in catalog.extra_identifiers if identifier in compared -%}
            '{{ identifier }}'{{ ", " if not loop.last }}
        {%- else -%}
            null
        {%- endfor -%}
    )
)

select
    customer_id,
    identifier,
    identifier_value,
    {{ tagwise.identity_blocked_because('identifier_value') }} as blocked_because
from identifier_values
where identifier_value is not null
