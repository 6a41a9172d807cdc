{#- One row per customer with every column a tag rule may use: the features, the
    non-identifying customer attributes, and values derived across customers. -#}
with features as (
    select * from {{ ref('int_customers__features') }}
),

customers as (
    select * from {{ ref('int_customers__profiles') }}
),

people as (
    select * from {{ ref('int_identity__people') }}
),

category_sequences as (
    select * from {{ ref('int_orders__category_sequences') }}
),

sustainability_answers as (
    select
        people.customer_key,
        surveys.answer,
        row_number() over (
            partition by people.customer_key
            order by surveys.submitted_at desc, surveys.response_id desc
        ) as answer_rank
    from {{ ref('stg_crm__survey_responses') }} as surveys
    inner join people
        on surveys.customer_id = people.customer_id
    where
        surveys.question_key = 'values_sustainability'
        and surveys.submitted_at < {{ tagwise.as_of_end() }}
)

-- Every feature is a rule input, and a new feature must become one without an edit here.
select
    features.*,  -- noqa: AM04
    customers.age,
    customers.gender,
    customers.country,
    customers.region,
    customers.city,
    customers.job_title,
    customers.company_name,
    customers.company_size,
    customers.industry,
    customers.signup_at,
    {{ tagwise.days_between('features.first_order_date', tagwise.as_of_date()) }} as first_order_days_ago,
    case
        when features.revenue_365d > 0
            then cume_dist() over (partition by features.revenue_365d > 0 order by features.revenue_365d)
    end as revenue_365d_cume_dist,
    sustainability_answers.answer as survey_values_sustainability,
    category_sequences.category_sequences_365d
from features
inner join customers
    on features.customer_key = customers.customer_key
left join category_sequences
    on features.customer_key = category_sequences.customer_key
left join sustainability_answers
    on
        features.customer_key = sustainability_answers.customer_key
        and sustainability_answers.answer_rank = 1
