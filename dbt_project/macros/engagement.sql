{#- One row per (customer, campaign) of resolved email events: when it was first
    delivered and whether it was delivered, opened and clicked. Engagement features
    (90 days) and campaign performance (to the end of D) read the same flags. -#}
{% macro email_flags_per_campaign(resolved) -%}
    select
        customer_key,
        campaign_id,
        min(case when event_type = 'delivered' then occurred_at end) as delivered_at,
        max(case when event_type = 'delivered' then 1 else 0 end) as was_delivered,
        max(case when event_type = 'open' then 1 else 0 end) as was_opened,
        max(case when event_type = 'click' then 1 else 0 end) as was_clicked
    from {{ resolved }}
    where customer_key is not null
    group by customer_key, campaign_id
{%- endmacro %}
