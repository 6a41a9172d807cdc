{#- Members shared by each pair of audiences as of D, with the Jaccard index (shared over
    members of either), kept for every as-of date recorded. Each unordered pair appears
    once, audience_a before audience_b; pairs that share no one are listed with 0, so the
    overlap matrix is complete. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['as_of_date', 'audience_a', 'audience_b'],
    on_schema_change='fail',
) }}

with audience_members as (
    select
        customer_key,
        segment as audience
    from {{ ref('segment_membership') }}
    where segment_type = 'audience'
),

audience_sizes as (
    select
        audience,
        count(*) as members
    from audience_members
    group by audience
),

shared as (
    select
        first_audience.audience as audience_a,
        second_audience.audience as audience_b,
        count(*) as shared_members
    from audience_members as first_audience
    inner join audience_members as second_audience
        on
            first_audience.customer_key = second_audience.customer_key
            and first_audience.audience < second_audience.audience
    group by first_audience.audience, second_audience.audience
)

select
    {{ tagwise.as_of_date() }} as as_of_date,
    size_a.audience as audience_a,
    size_b.audience as audience_b,
    size_a.members as members_a,
    size_b.members as members_b,
    coalesce(shared.shared_members, 0) as shared_members,
    cast(coalesce(shared.shared_members, 0) as double)
    / cast(size_a.members + size_b.members - coalesce(shared.shared_members, 0) as double) as jaccard
from audience_sizes as size_a
inner join audience_sizes as size_b
    on size_a.audience < size_b.audience
left join shared
    on
        size_a.audience = shared.audience_a
        and size_b.audience = shared.audience_b
