{#-
    Destinations from the declarative destination catalog (meta of
    destination_eligibility in destination_catalog.yml): who each one selects, its
    key, and why a selected customer is not eligible.
-#}

{#- A destination kind as dbt_project.yml's var destination_kinds declares it. -#}
{% macro destination_kind(kind) -%}
    {{- return(var("destination_kinds")[kind]) -}}
{%- endmacro %}

{#- What names a person at a destination of the kind, from the columns of `people`
    (email, e164_phone). -#}
{% macro destination_key(kind) -%}
    {%- set traits = tagwise.destination_kind(kind) -%}
    {%- set identifier = "people.e164_phone" if traits.identifier == "phone" else "people.email" -%}
    {%- if traits.get("hashed") -%}
        {{ tagwise.sha256_hex(identifier) }}
    {%- else -%}
        {{ identifier }}
    {%- endif -%}
{%- endmacro %}

{#- The phone_sha256 field of a kind that sends one: the SHA-256 of the E.164 phone as
    the platform's rules write it (e164: with its +; digits: without), null for a phone
    another customer shares. -#}
{% macro phone_hash(kind) -%}
    {%- set rule = tagwise.destination_kind(kind).get("phone_hash") -%}
    {%- if rule == "e164" -%}
        case when people.customers_with_phone = 1 then {{ tagwise.sha256_hex("people.e164_phone") }} end
    {%- elif rule == "digits" -%}
        case when people.customers_with_phone = 1 then {{ tagwise.sha256_hex("substr(people.e164_phone, 2)") }} end
    {%- else -%}
        cast(null as string)
    {%- endif -%}
{%- endmacro %}

{#- The first reason a selected customer may not be sent to the destination, or null. A
    customer held out of every segment that selects them there is not sent (SPEC 3.8). -#}
{% macro not_eligible_because(destination) -%}
    case
        when selected.held_out_of_every_selection = 1 then 'held out of ' || selected.segments
        {%- if tagwise.destination_kind(destination.kind).identifier == "phone" %}
            when people.phone is null then 'no phone'
            when people.e164_phone is null then 'phone cannot be normalised to E.164'
            when people.customers_with_phone > 1 then 'phone shared with another customer'
        {%- else %}
            when people.email is null then 'no valid email'
            when suppression_list.email is not null then 'suppressed: ' || suppression_list.reason
        {%- endif %}
        {%- for channel, purpose in destination.consent %}
            {%- if channel == "any" %}
            when withdrawn_{{ loop.index }}.customer_key is not null
                then {{ tagwise.string_literal(purpose ~ " consent withdrawn on a channel") }}
            {%- else %}
            when consent_{{ loop.index }}.status is null
                then {{ tagwise.string_literal("no " ~ channel ~ " " ~ purpose ~ " consent") }}
            when consent_{{ loop.index }}.status <> 'granted'
                then {{ tagwise.string_literal(channel ~ " " ~ purpose ~ " consent ") }} || consent_{{ loop.index }}.status
            {%- endif %}
        {%- endfor %}
        end
{%- endmacro %}

{#- One select per destination: its selected customers, key and reason. -#}
{% macro destination_eligibility_rows(destination) -%}
    select
        {{ tagwise.string_literal(destination.destination) }} as destination,
        people.customer_key,
        {{ tagwise.destination_key(destination.kind) }} as key,
        {{ tagwise.phone_hash(destination.kind) }} as phone_sha256,
        {{ tagwise.not_eligible_because(destination) }} as not_eligible_because
    from people
    inner join (
        select
            customer_key,
            -- Selected only through memberships it is held out of: measured, never sent.
            min(case when is_holdout then 1 else 0 end) as held_out_of_every_selection,
            {{ tagwise.sorted_list_agg("segment") }} as segments
        from membership
        where destinations like {{ tagwise.string_literal("%|" ~ destination.destination ~ "|%") }}
        group by customer_key
    ) as selected
        on people.customer_key = selected.customer_key
    left join suppression_list
        on people.email = suppression_list.email
    {%- for channel, purpose in destination.consent %}
        {%- if channel == "any" %}
    left join withdrawn as withdrawn_{{ loop.index }}
        on
            people.customer_key = withdrawn_{{ loop.index }}.customer_key
            and withdrawn_{{ loop.index }}.purpose = {{ tagwise.string_literal(purpose) }}
        {%- else %}
    left join consent as consent_{{ loop.index }}
        on
            people.customer_key = consent_{{ loop.index }}.customer_key
            and consent_{{ loop.index }}.channel = {{ tagwise.string_literal(channel) }}
            and consent_{{ loop.index }}.purpose = {{ tagwise.string_literal(purpose) }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- A field of destination_audiences: its value for the destinations whose catalog entry
    lists it, null for the others. -#}
{% macro destination_field(field, expression, data_type="string") -%}
    {%- set receivers = [] -%}
    {%- for destination in tagwise.destination_catalog() if field in (destination.fields or []) -%}
        {%- do receivers.append(tagwise.string_literal(destination.destination)) -%}
    {%- endfor -%}
    {%- if receivers -%}
        case when eligible.destination in ({{ receivers | join(", ") }}) then {{ expression }} end
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif %} as {{ field }}
{%- endmacro %}
