{#- Support tickets per customer opened in the last 90 days (SPEC 3.2). -#}
with tickets as (
    select * from {{ ref('stg_crm__support_tickets') }}
    where {{ tagwise.in_last_days('created_at', 90) }}
),

people as (
    select * from {{ ref('int_identity__people') }}
)

select
    people.customer_key,
    count(*) as support_tickets_90d
from tickets
inner join people
    on tickets.customer_id = people.customer_id
group by people.customer_key
