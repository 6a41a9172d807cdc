{#- Segment membership as of D (SPEC 3.5): one primary segment per customer, any number of
    audiences, with the definition's version and the first as-of date of the membership. -#}
with assignments as (
    select * from {{ ref('int_segments__assignments') }}
),

open_history as (
    select * from {{ ref('segment_membership_history') }}
    where exited_on is null
)

select
    assignments.customer_key,
    assignments.segment,
    assignments.segment_type,
    assignments.definition_version,
    assignments.destinations,
    open_history.entered_on as member_since,
    {{ tagwise.as_of_date() }} as as_of_date
from assignments
inner join open_history
    on
        assignments.customer_key = open_history.customer_key
        and assignments.segment = open_history.segment
