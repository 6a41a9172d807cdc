{#- For every campaign that targeted a segment or audience: delivered, open, click and
    conversion (a completed order within 7 days of delivery) among targeted members, next
    to the same among the campaign's other delivered recipients. Membership is read from
    history at the send date when history reaches back that far, else from current
    membership (membership_basis says which). -#}
with campaigns as (
    select * from {{ ref('stg_esp__email_campaigns') }}
    where
        audience is not null
        and sent_at < {{ tagwise.as_of_end() }}
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
    select
        campaign_id,
        customer_key,
        min(case when event_type = 'delivered' then occurred_at end) as delivered_at,
        max(case when event_type = 'open' then 1 else 0 end) as opened,
        max(case when event_type = 'click' then 1 else 0 end) as clicked
    from resolved
    where customer_key is not null
    group by campaign_id, customer_key
),

completed_orders as (
    select * from {{ ref('int_orders__completed') }}
),

outcomes_by_recipient as (
    select
        recipients.campaign_id,
        recipients.customer_key,
        recipients.opened,
        recipients.clicked,
        max(case when completed_orders.order_id is not null then 1 else 0 end) as converted
    from recipients
    left join completed_orders
        on
            recipients.customer_key = completed_orders.customer_key
            and recipients.delivered_at <= completed_orders.ordered_at
            and {{ dbt.dateadd('day', 7, 'recipients.delivered_at') }} >= completed_orders.ordered_at
    where recipients.delivered_at is not null
    group by recipients.campaign_id, recipients.customer_key, recipients.opened, recipients.clicked
),

history as (
    select * from {{ ref('segment_membership_history') }}
),

history_start as (
    select min(as_of_date) as first_recorded from {{ ref('history_as_of_dates') }}
),

campaign_basis as (
    select
        campaigns.*,
        case
            when cast(campaigns.sent_at as date) >= history_start.first_recorded then 'history at send date'
            else 'current membership'
        end as membership_basis
    from campaigns
    cross join history_start
),

targeted as (
    select distinct
        campaign_basis.campaign_id,
        history.customer_key
    from campaign_basis
    inner join history
        on
            campaign_basis.audience = history.segment
            and (
                (
                    campaign_basis.membership_basis = 'history at send date'
                    and history.entered_on <= cast(campaign_basis.sent_at as date)
                    and (history.exited_on is null or history.exited_on > cast(campaign_basis.sent_at as date))
                )
                or (campaign_basis.membership_basis = 'current membership' and history.exited_on is null)
            )
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
    campaign_basis.campaign_id,
    campaign_basis.campaign_name,
    campaign_basis.sent_at,
    campaign_basis.audience,
    campaign_basis.membership_basis,
    count(case when outcomes.is_targeted then 1 end) as targeted_delivered,
    avg(case when outcomes.is_targeted then cast(outcomes.opened as double) end) as targeted_open_rate,
    avg(case when outcomes.is_targeted then cast(outcomes.clicked as double) end) as targeted_click_rate,
    avg(case when outcomes.is_targeted then cast(outcomes.converted as double) end) as targeted_conversion_rate,
    count(case when not outcomes.is_targeted then 1 end) as others_delivered,
    avg(case when not outcomes.is_targeted then cast(outcomes.opened as double) end) as others_open_rate,
    avg(case when not outcomes.is_targeted then cast(outcomes.clicked as double) end) as others_click_rate,
    avg(case when not outcomes.is_targeted then cast(outcomes.converted as double) end) as others_conversion_rate,
    {{ tagwise.as_of_date() }} as as_of_date
from campaign_basis
left join outcomes
    on campaign_basis.campaign_id = outcomes.campaign_id
group by
    campaign_basis.campaign_id,
    campaign_basis.campaign_name,
    campaign_basis.sent_at,
    campaign_basis.audience,
    campaign_basis.membership_basis
