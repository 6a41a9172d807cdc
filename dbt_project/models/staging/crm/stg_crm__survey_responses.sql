with source as (
    select * from {{ source('crm', 'survey_responses') }}
)

select
    response_id,
    customer_id,
    question_key,
    lower(trim(answer)) as answer,
    submitted_at,
    _loaded_at
from source
