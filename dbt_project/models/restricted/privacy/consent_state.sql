{#- Consent per (customer_key, channel, purpose) as of D: the latest change by occurred_at
    (SPEC 3.6). Ties fail closed: at the same instant a withdrawal (an unsubscribe too)
    beats pending, and pending beats granted; among equals the higher event_id wins. An
    email unsubscribe event withdraws (email, marketing) at its time. -#}
with consent_events as (
    select * from {{ ref('stg_privacy__consent_events') }}
    where occurred_at < {{ tagwise.as_of_end() }}
),

unsubscribes as (
    select * from {{ ref('stg_esp__email_events') }}
    where
        event_type = 'unsubscribe'
        and occurred_at < {{ tagwise.as_of_end() }}
),

changes as (
    select
        event_id,
        customer_id,
        email,
        channel,
        purpose,
        status,
        consent_method,
        occurred_at,
        'consent_events' as recorded_in
    from consent_events
    union all
    select
        event_id,
        customer_id,
        email,
        'email' as channel,
        'marketing' as purpose,
        'withdrawn' as status,
        'unsubscribe_link' as consent_method,
        occurred_at,
        'email_events' as recorded_in
    from unsubscribes
),

resolved as (
    {{ tagwise.with_customer_key('changes', ref('int_identity__people')) }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_key, channel, purpose
            order by
                occurred_at desc,
                case status when 'withdrawn' then 0 when 'pending' then 1 else 2 end,
                event_id desc
        ) as change_rank
    from resolved
    where customer_key is not null
)

select
    customer_key,
    channel,
    purpose,
    status,
    occurred_at as status_since,
    event_id as set_by_event_id,
    consent_method,
    recorded_in,
    {{ tagwise.as_of_date() }} as as_of_date
from ranked
where change_rank = 1
