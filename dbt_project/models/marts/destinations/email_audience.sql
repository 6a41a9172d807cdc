{#- What the email platform receives (SPEC 3.7): the `email` destination's rows of
    destination_audiences, under the columns it has always had. -#}
with audience as (
    select * from {{ ref('destination_audiences') }}
    where destination = 'email'
)

select
    key as email,
    first_name,
    last_name,
    primary_segment,
    audiences,
    tags,
    updated_on
from audience
