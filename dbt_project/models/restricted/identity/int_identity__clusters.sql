{#- Every current source record with the person it belongs to. Records sharing a valid
    email are one person; the key hashes the anchor record (earliest signup, then smallest
    id), so a duplicate that arrives later joins an existing person without changing the key. -#}
with records as (
    select * from {{ ref('int_identity__customer_records') }}
),

anchored as (
    select
        customer_id,
        email,
        first_value(customer_id) over (
            partition by coalesce(email, 'id:' || customer_id)
            order by signup_at, customer_id
            rows between unbounded preceding and unbounded following
        ) as anchor_customer_id
    from records
)

select
    customer_id,
    email,
    anchor_customer_id,
    {{ dbt.hash('anchor_customer_id') }} as customer_key
from anchored
