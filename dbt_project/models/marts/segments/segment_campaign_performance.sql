{#- For every campaign that targeted a segment or audience: delivered, open, click and
    conversion (tagwise.converted_after_send: a completed order within the var
    conversion_days after delivery, as audience_lift counts it) among targeted members, next
    to the same among the campaign's other delivered recipients (who they were:
    segment_campaign_targets). Descriptive only: members were chosen because they
    differ from the others, so the gap is not the campaign's effect (audience_lift
    compares members with a randomly held-out group for that). -#}
with targets as (
    select * from {{ ref('segment_campaign_targets') }}
),

campaigns as (
    select distinct
        campaign_id,
        campaign_name,
        sent_at,
        audience,
        membership_basis
    from targets
),

email_events as (
    select events.*
    from {{ ref('stg_esp__email_events') }} as events
    where
        events.event_type in ('delivered', 'open', 'click')
        and events.occurred_at < {{ tagwise.as_of_end() }}
        and events.campaign_id in (select campaigns.campaign_id from campaigns)
),

resolved as (
    {{ tagwise.with_customer_key('email_events', ref('int_identity__people')) }}
),

recipients as (
    {{ tagwise.email_flags_per_campaign('resolved') }}
),

completed_orders as (
    select * from {{ ref('int_orders__completed') }}
),

outcomes_by_recipient as (
    select
        recipients.campaign_id,
        recipients.customer_key,
        recipients.was_opened as opened,
        recipients.was_clicked as clicked,
        max(case when completed_orders.order_id is not null then 1 else 0 end) as converted
    from recipients
    left join completed_orders
        on
            recipients.customer_key = completed_orders.customer_key
            and {{ tagwise.converted_after_send('recipients.delivered_at', 'completed_orders.ordered_at') }}
    where recipients.delivered_at is not null
    group by recipients.campaign_id, recipients.customer_key, recipients.was_opened, recipients.was_clicked
),

targeted as (
    select
        campaign_id,
        customer_key
    from targets
    where customer_key is not null
),

outcomes as (
    select
        outcomes_by_recipient.campaign_id,
        targeted.customer_key is not null as is_targeted,
        outcomes_by_recipient.opened,
        outcomes_by_recipient.clicked,
        outcomes_by_recipient.converted
    from outcomes_by_recipient
    left join targeted
        on
            outcomes_by_recipient.campaign_id = targeted.campaign_id
            and outcomes_by_recipient.customer_key = targeted.customer_key
)

select
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.sent_at,
    campaigns.audience,
    campaigns.membership_basis,
    count(case when outcomes.is_targeted then 1 end) as targeted_delivered,
    avg(case when outcomes.is_targeted then cast(outcomes.opened as double) end) as targeted_open_rate,
    avg(case when outcomes.is_targeted then cast(outcomes.clicked as double) end) as targeted_click_rate,
    avg(case when outcomes.is_targeted then cast(outcomes.converted as double) end) as targeted_conversion_rate,
    count(case when not outcomes.is_targeted then 1 end) as others_delivered,
    avg(case when not outcomes.is_targeted then cast(outcomes.opened as double) end) as others_open_rate,
    avg(case when not outcomes.is_targeted then cast(outcomes.clicked as double) end) as others_click_rate,
    avg(case when not outcomes.is_targeted then cast(outcomes.converted as double) end) as others_conversion_rate,
    {{ tagwise.as_of_date() }} as as_of_date
from campaigns
left join outcomes
    on campaigns.campaign_id = outcomes.campaign_id
group by
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.sent_at,
    campaigns.audience,
    campaigns.membership_basis
