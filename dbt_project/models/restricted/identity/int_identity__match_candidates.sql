{#- What the identity catalog's probabilistic rule compares (tagwise/identity/matching.py):
    one row per current record as of D with the rule's fields as rules compare them,
    blocklisted values left empty. A record whose latest profiling consent on a channel
    is withdrawn, or that an erasure request names, by its id or by its email, is left
    out: no model scores it. -#}
{%- set catalog = tagwise.identity_catalog() -%}
{%- set fields = tagwise.identity_compared_identifiers({"rules": [], "probabilistic": catalog.probabilistic}) -%}
with records as (
    select * from {{ ref('int_identity__customer_records') }}
),

identifier_values as (
    select * from {{ ref('int_identity__identifier_values') }}
    where
        blocked_because is null
        and identifier in (
            {%- for field in fields -%}'{{ field }}'{{ ", " if not loop.last }}{%- else -%}null{%- endfor -%}
        )
),

profiling_changes as (
    select * from {{ ref('stg_privacy__consent_events') }}
    where
        purpose = 'profiling'
        and occurred_at < {{ tagwise.as_of_end() }}
),

{# A change names a record by its id, or (without one) by its email: two equality joins,
    as one join on either condition compares every change with every record. #}
record_changes as (
    select
        records.customer_id,
        profiling_changes.channel,
        profiling_changes.status,
        profiling_changes.occurred_at,
        profiling_changes.event_id
    from profiling_changes
    inner join records
        on profiling_changes.customer_id = records.customer_id
    union all
    select
        records.customer_id,
        profiling_changes.channel,
        profiling_changes.status,
        profiling_changes.occurred_at,
        profiling_changes.event_id
    from profiling_changes
    inner join records
        on profiling_changes.email = records.email
    where profiling_changes.customer_id is null
),

latest_changes as (
    select
        *,
        row_number() over (
            partition by customer_id, channel
            order by
                {{ tagwise.latest_consent_change_first() }}
        ) as change_rank
    from record_changes
),

erasure_requests as (
    select * from {{ ref('stg_privacy__privacy_requests') }}
    where
        request_type = 'erasure'
        and received_at < {{ tagwise.as_of_end() }}
),

left_out as (
    select customer_id
    from latest_changes
    where change_rank = 1 and status = 'withdrawn'
    union
    select records.customer_id
    from records
    inner join erasure_requests
        on records.customer_id = erasure_requests.customer_id
    union
    select records.customer_id
    from records
    inner join erasure_requests
        on records.email = erasure_requests.email
)

select
    records.customer_id,
    count(identifier_values.identifier) as fields_held
{%- for field in fields %},
    max(case when identifier_values.identifier = '{{ field }}' then identifier_values.identifier_value end)
        as {{ field }}
    {%- endfor %}
from records
left join identifier_values
    on records.customer_id = identifier_values.customer_id
where
    {{ "true" if catalog.probabilistic else "false" }}
    and records.customer_id not in (select left_out.customer_id from left_out)
group by records.customer_id
