with source as (
    select * from {{ source('crm', 'customers') }}
)

select
    customer_id,
    {{ tagwise.normalized_email('email') }} as email,
    lower(trim(email)) as email_as_given,
    first_name,
    last_name,
    phone,
    birth_date,
    gender,
    country,
    region,
    city,
    postal_code,
    signup_at,
    job_title,
    company_name,
    company_size,
    industry,
    updated_at,
    _loaded_at
from source
