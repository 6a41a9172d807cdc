{#- The current record of each source customer id as of D: its latest version recorded by
    the end of D, for customers who had signed up by D. -#}
with versions as (
    select * from {{ ref('stg_crm__customers') }}
),

known_by_as_of as (
    select
        *,
        row_number() over (partition by customer_id order by updated_at desc) as version_rank
    from versions
    where updated_at < {{ tagwise.as_of_end() }}
)

select
    customer_id,
    email,
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
    updated_at
from known_by_as_of
where
    version_rank = 1
    and cast(signup_at as date) <= {{ tagwise.as_of_date() }}
