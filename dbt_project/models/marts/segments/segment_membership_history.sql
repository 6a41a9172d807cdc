{#- Segment and audience intervals per customer: entered_on is the first as-of date of a
    membership, exited_on the first as-of date without it (null while it lasts).
    Maintained per as-of date like customer_tag_history. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_key',
    on_schema_change='fail',
    post_hook="{{ tagwise.delete_history_tombstones('entered_on') }}",
) }}
-- depends_on: {{ ref('history_as_of_dates') }}

with current_segments as (
    select
        customer_key,
        segment,
        segment_type
    from {{ ref('int_segments__assignments') }}
),

erased as (
    select customer_key from {{ ref('int_identity__erased_people') }}
),

{{ tagwise.history_intervals(
    'current_segments', 'erased', ['customer_key', 'segment', 'segment_type'], 'entered_on', 'exited_on'
) }}
