{#- Whether each customer may receive marketing email as of D (SPEC 3.6): latest
    (email, marketing) consent granted, a valid email, no email of theirs suppressed, not
    erased. -#}
with people as (
    select * from {{ ref('int_identity__people') }}
),

records as (
    select * from {{ ref('int_identity__customer_records') }}
),

email_marketing_consent as (
    select * from {{ ref('consent_state') }}
    where channel = 'email' and purpose = 'marketing'
),

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

ranked_emails as (
    {#- The address of the most recently updated record, as dim_customers keeps it. -#}
    select
        people.customer_key,
        people.email,
        row_number() over (
            partition by people.customer_key
            order by
                case when people.email is null then 1 else 0 end,
                records.updated_at desc,
                records.customer_id desc
        ) as email_rank
    from people
    inner join records
        on people.customer_id = records.customer_id
),

person_email as (
    select
        customer_key,
        email
    from ranked_emails
    where email_rank = 1
),

person_suppression as (
    {#- A suppression of any email of a person's merged records binds the person (SPEC 3.1):
        the first one. -#}
    select
        people.customer_key,
        suppression_list.email,
        suppression_list.reason,
        row_number() over (
            partition by people.customer_key
            order by suppression_list.suppressed_at, suppression_list.email
        ) as suppression_rank
    from people
    inner join suppression_list
        on people.email = suppression_list.email
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
left join person_suppression as suppression_list
    on
        person_email.customer_key = suppression_list.customer_key
        and suppression_list.suppression_rank = 1
