{#- Email addresses not to be mailed as of D, with the first event that put them here:
    hard bounces and complaints for good, unsubscribes while no later grant has replaced
    them. Addresses of erased people are left out with everything else about them. -#}
with email_events as (
    select * from {{ ref('stg_esp__email_events') }}
    where
        event_type in ('bounce_hard', 'complaint')
        and occurred_at < {{ tagwise.as_of_end() }}
),

people as (
    select * from {{ ref('int_identity__people') }}
),

person_emails as (
    select distinct
        customer_key,
        email
    from people
    where email is not null
),

erased_emails as (
    select distinct identifiers.identifier as email
    from {{ ref('int_identity__identifiers') }} as identifiers
    inner join {{ ref('int_identity__erased_people') }} as erased
        on identifiers.customer_key = erased.customer_key
    where identifiers.identifier_type = 'email'
),

active_unsubscribes as (
    select
        people.email,
        'unsubscribe' as reason,
        consent.status_since as suppressed_at,
        consent.set_by_event_id as event_id
    from {{ ref('consent_state') }} as consent
    inner join person_emails as people
        on consent.customer_key = people.customer_key
    where
        consent.channel = 'email'
        and consent.purpose = 'marketing'
        and consent.status = 'withdrawn'
        and consent.consent_method = 'unsubscribe_link'
),

bounces_and_complaints as (
    select
        coalesce(email_events.email, people.email) as email,
        email_events.event_type as reason,
        email_events.occurred_at as suppressed_at,
        email_events.event_id
    from email_events
    left join people
        on email_events.customer_id = people.customer_id
),

suppressions as (
    select * from bounces_and_complaints
    union all
    select * from active_unsubscribes
),

first_per_address as (
    select
        *,
        row_number() over (partition by email order by suppressed_at, event_id) as suppression_rank
    from suppressions
    where email is not null
)

select
    first_per_address.email,
    first_per_address.reason,
    first_per_address.suppressed_at,
    first_per_address.event_id,
    {{ tagwise.as_of_date() }} as as_of_date
from first_per_address
left join erased_emails
    on first_per_address.email = erased_emails.email
where
    first_per_address.suppression_rank = 1
    and erased_emails.email is null
