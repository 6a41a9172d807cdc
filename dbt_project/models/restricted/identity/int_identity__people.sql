{#- The identity map every customer-level model starts from: source id -> customer_key and
    current email, without erased people, who take part in nothing downstream. An email
    several people hold is no one's here (null: no valid email to send to). -#}
with clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

erased as (
    select * from {{ ref('int_identity__erased_people') }}
),

shared_emails as (
    {#- Emails the identity catalog kept from merging their holders (blocklisted, or past
        a limit): an address several people hold names none of them. -#}
    select email
    from clusters
    where email is not null
    group by email
    having min(customer_key) <> max(customer_key)
)

select
    clusters.customer_id,
    case when shared_emails.email is null then clusters.email end as email,
    clusters.customer_key
from clusters
left join erased
    on clusters.customer_key = erased.customer_key
left join shared_emails
    on clusters.email = shared_emails.email
where erased.customer_key is null
