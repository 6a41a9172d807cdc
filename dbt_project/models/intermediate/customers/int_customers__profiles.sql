{#- One row per person as of D (SPEC 3.1). Each attribute survives from the most recently
    updated merged record that has it; signup_at is the earliest of them. The email is
    one the person holds alone (int_identity__people). -#}
with records as (
    select * from {{ ref('int_identity__customer_records') }}
),

people as (
    select * from {{ ref('int_identity__people') }}
),

order_features as (
    select * from {{ ref('int_features__orders') }}
),

merged_records as (
    select
        people.customer_key,
        people.email as person_email,
        records.*,
        row_number() over (
            partition by people.customer_key
            order by records.updated_at, records.customer_id
        ) as recency_order
    from records
    inner join people
        on records.customer_id = people.customer_id
),

survived as (
    select
        customer_key,
        {{ tagwise.sorted_list_agg('customer_id') }} as source_customer_ids,
        max_by(person_email, recency_order) filter (where person_email is not null) as email,
        {% for column in [
            'first_name', 'last_name', 'phone', 'birth_date', 'gender', 'country', 'region',
            'city', 'postal_code', 'job_title', 'company_name', 'company_size', 'industry'
        ] -%}
            max_by({{ column }}, recency_order) filter (where {{ column }} is not null) as {{ column }},
        {% endfor -%}
        min(signup_at) as signup_at
    from merged_records
    group by customer_key
)

select
    survived.customer_key,
    survived.source_customer_ids,
    survived.email,
    survived.first_name,
    survived.last_name,
    survived.phone,
    survived.birth_date,
    cast({{ tagwise.age_in_years('survived.birth_date', tagwise.as_of_date()) }} as integer) as age,
    survived.gender,
    survived.country,
    survived.region,
    survived.city,
    survived.postal_code,
    survived.job_title,
    survived.company_name,
    survived.company_size,
    survived.industry,
    survived.signup_at,
    order_features.first_order_at,
    {{ tagwise.as_of_date() }} as as_of_date
from survived
left join order_features
    on survived.customer_key = order_features.customer_key
