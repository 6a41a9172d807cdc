{#- Email engagement per customer over the last 90 days (SPEC 3.2). Rates divide by the
    campaigns delivered in the window; the numerator counts those of them that were opened
    (clicked), so a rate stays within [0, 1] even when a delivery fell just before the window. -#}
with email_events as (
    select *
    from {{ ref('stg_esp__email_events') }}
    where
        {{ tagwise.in_last_days('occurred_at', 90) }}
        and event_type in ('delivered', 'open', 'click')
),

resolved as (
    {{ tagwise.with_customer_key('email_events', ref('int_identity__people')) }}
),

per_campaign as (
    {{ tagwise.email_flags_per_campaign('resolved') }}
),

per_customer as (
    select
        customer_key,
        cast(sum(was_delivered) as bigint) as emails_delivered_90d,
        cast(sum(was_opened) as bigint) as emails_opened_90d,
        cast(sum(was_clicked) as bigint) as emails_clicked_90d,
        cast(sum(was_delivered * was_opened) as bigint) as delivered_and_opened_90d,
        cast(sum(was_delivered * was_clicked) as bigint) as delivered_and_clicked_90d
    from per_campaign
    group by customer_key
)

select
    customer_key,
    emails_delivered_90d,
    emails_opened_90d,
    emails_clicked_90d,
    case
        when emails_delivered_90d > 0 then cast(delivered_and_opened_90d as double) / emails_delivered_90d
    end as open_rate_90d,
    case
        when emails_delivered_90d > 0 then cast(delivered_and_clicked_90d as double) / emails_delivered_90d
    end as click_rate_90d
from per_customer
