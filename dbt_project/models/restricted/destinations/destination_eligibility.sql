{#- Who each destination of the catalog selects, with their key there and, when they may
    not be sent, the first reason why (SPEC 3.7): consent for every required pair, no
    suppression where the key is an email, a valid key held by this customer alone.
    Erased people are in no segment. -#}
with customers as (
    select * from {{ ref('dim_customers') }}
),

marketability as (
    select * from {{ ref('customer_email_marketability') }}
),

membership as (
    select * from {{ ref('segment_membership') }}
),

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

consent as (
    select * from {{ ref('consent_state') }}
),

phone_numbers as (
    select * from {{ ref('stg_phones__phone_numbers') }}
),

withdrawn as (
    select distinct
        customer_key,
        purpose
    from consent
    where status = 'withdrawn'
),

customer_phones as (
    select
        customers.customer_key,
        marketability.email,
        customers.phone,
        phone_numbers.e164_phone
    from customers
    left join marketability
        on customers.customer_key = marketability.customer_key
    left join phone_numbers
        on customers.phone = phone_numbers.phone
),

people as (
    select
        *,
        -- A number two customers share (a family's, a switchboard) names neither of them
        -- for certain: it is not used (fail closed).
        count(e164_phone) over (partition by e164_phone) as customers_with_phone
    from customer_phones
),

checked as (
    {%- for destination in tagwise.destination_catalog() %}
        {{ tagwise.destination_eligibility_rows(destination) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select
    destination,
    customer_key,
    key,
    phone_sha256,
    not_eligible_because is null as is_eligible,
    not_eligible_because
from checked
