{#- The identity map every customer-level model starts from: source id -> customer_key and
    current email, without erased people, who take part in nothing downstream. -#}
with clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

erased as (
    select * from {{ ref('int_identity__erased_people') }}
)

select
    clusters.customer_id,
    clusters.email,
    clusters.customer_key
from clusters
left join erased
    on clusters.customer_key = erased.customer_key
where erased.customer_key is null
