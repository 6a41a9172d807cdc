{#- Tag intervals per (customer, tag, source): valid_from is the first as-of date of a
    streak, valid_to the first as-of date without the tag (null while it lasts).
    A run as of D first forgets what runs as of D or later wrote, then records D, so a
    re-run of the same date changes nothing. Only customers whose history changed are
    rewritten; erased people's rows are deleted. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_key',
    on_schema_change='append_new_columns',
    post_hook="{{ tagwise.delete_history_tombstones() }}",
) }}
-- depends_on: {{ ref('history_as_of_dates') }}

with current_tags as (
    select
        customer_key,
        tag,
        source
    from {{ ref('int_tags__current') }}
),

erased as (
    select customer_key from {{ ref('int_identity__erased_people') }}
),

{{ tagwise.history_intervals('current_tags', 'erased', ['customer_key', 'tag', 'source']) }}
