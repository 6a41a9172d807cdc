{#- Consent per (customer_key, channel, purpose) as of D: the latest change by occurred_at
    (SPEC 3.6). Ties fail closed: at the same instant a withdrawal (an unsubscribe too)
    beats pending, and pending beats granted; among equals the higher event_id wins. An
    email unsubscribe event withdraws (email, marketing) at its time. Merging never widens
    consent (SPEC 3.1): when the latest change of one of a person's merged records is a
    withdrawal, the person is withdrawn, whatever another record granted later. -#}
with consent_events as (
    select * from {{ ref('stg_privacy__consent_events') }}
    where occurred_at < {{ tagwise.as_of_end() }}
),

people as (
    select * from {{ ref('int_identity__people') }}
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

resolved_once as (
    {{ tagwise.with_customer_key('changes', 'people') }}
),

shared_email_holders as (
    {#- Emails several people's records hold (the identity catalog kept them apart; no
        one's in int_identity__people): a withdrawal that names only such an email binds
        every holder, a grant names no one. -#}
    select distinct
        holders.email,
        holders.customer_key
    from {{ ref('int_identity__clusters') }} as holders
    inner join people
        on holders.customer_id = people.customer_id
    where holders.email in (
        select shared.email from {{ ref('int_identity__clusters') }} as shared
        where shared.email is not null
        group by shared.email
        having count(distinct shared.customer_key) > 1
    )
),

resolved as (
    select * from resolved_once
    where customer_key is not null
    union all
    select
        resolved_once.event_id,
        resolved_once.customer_id,
        resolved_once.email,
        resolved_once.channel,
        resolved_once.purpose,
        resolved_once.status,
        resolved_once.consent_method,
        resolved_once.occurred_at,
        resolved_once.recorded_in,
        shared_email_holders.customer_key
    from resolved_once
    inner join shared_email_holders
        on resolved_once.email = shared_email_holders.email
    where
        resolved_once.customer_key is null
        and resolved_once.status = 'withdrawn'
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_key, channel, purpose
            order by
                {{ tagwise.latest_consent_change_first() }}
        ) as change_rank,
        row_number() over (
            partition by customer_key, customer_id, channel, purpose
            order by
                {{ tagwise.latest_consent_change_first() }}
        ) as record_change_rank
    from resolved
    where customer_key is not null
),

candidates as (
    {#- The person's latest change, and each merged record's latest when it withdraws. -#}
    select * from ranked
    where
        change_rank = 1
        or (record_change_rank = 1 and customer_id is not null and status = 'withdrawn')
),

binding as (
    select
        *,
        row_number() over (
            partition by customer_key, channel, purpose
            order by
                case status when 'withdrawn' then 0 else 1 end,
                occurred_at desc,
                event_id desc
        ) as binding_rank
    from candidates
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
from binding
where binding_rank = 1
