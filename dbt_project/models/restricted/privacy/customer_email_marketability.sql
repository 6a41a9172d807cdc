{#- Whether each customer may receive marketing email as of D (SPEC 3.6): latest
    (email, marketing) consent granted, a valid email, not suppressed, not erased. -#}
with people as (
    select distinct
        customer_key,
        email
    from {{ ref('int_identity__people') }}
),

email_marketing_consent as (
    select * from {{ ref('consent_state') }}
    where channel = 'email' and purpose = 'marketing'
),

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

person_email as (
    select
        customer_key,
        max(email) as email
    from people
    group by customer_key
)

select
    person_email.customer_key,
    person_email.email,
    coalesce(email_marketing_consent.status, 'none') as email_marketing_consent,
    suppression_list.reason as suppression_reason,
    coalesce(
        email_marketing_consent.status = 'granted'
        and person_email.email is not null
        and suppression_list.email is null,
        false
    ) as is_email_marketable,
    case
        when person_email.email is null then 'no valid email'
        when suppression_list.email is not null then 'suppressed: ' || suppression_list.reason
        when email_marketing_consent.status is null then 'no email marketing consent'
        when email_marketing_consent.status <> 'granted'
            then 'email marketing consent ' || email_marketing_consent.status
    end as not_marketable_because,
    {{ tagwise.as_of_date() }} as as_of_date
from person_email
left join email_marketing_consent
    on person_email.customer_key = email_marketing_consent.customer_key
left join suppression_list
    on person_email.email = suppression_list.email
