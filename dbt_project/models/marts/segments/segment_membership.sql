{#- Segment membership as of D (SPEC 3.5): one primary segment per customer, any number of
    audiences, with the definition's version, the first as-of date of the membership,
    whether the customer is held out of it (SPEC 3.8) and the reason: the condition that
    placed the customer, with the values that made it true. -#}
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
    assignments.reason,
    assignments.is_holdout,
    {{ tagwise.as_of_date() }} as as_of_date
from assignments
inner join open_history
    on
        assignments.customer_key = open_history.customer_key
        and assignments.segment = open_history.segment
