{#- Segment and audience intervals per customer: entered_on is the first as-of date of a
    membership, exited_on the first as-of date without it (null while it lasts), and
    exit_reason why it ended. Maintained per as-of date like customer_tag_history. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_key',
    on_schema_change='append_new_columns',
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

inputs as (
    select * from {{ ref('int_segments__inputs') }}
),

-- Profiling tags the rules gave a customer whose profiling consent is withdrawn, and the
-- date of that withdrawal: such a tag left because of the objection, not its rule.
profiling_withdrawals as (
    select
        customer_key,
        max(cast(status_since as date)) as profiling_withdrawn_on
    from {{ ref('consent_state') }}
    where
        purpose = 'profiling'
        and status = 'withdrawn'
    group by customer_key
),

blocked_tags as (
    select
        rule_matches.customer_key,
        '|' || replace({{ tagwise.sorted_list_agg('rule_matches.tag') }}, ', ', '|') || '|' as profiling_blocked_tags
    from {{ ref('int_tags__rule_matches') }} as rule_matches
    inner join profiling_withdrawals
        on rule_matches.customer_key = profiling_withdrawals.customer_key
    inner join {{ ref('tag_taxonomy') }} as taxonomy
        on rule_matches.tag = taxonomy.tag
    where taxonomy.requires_profiling_consent
    group by rule_matches.customer_key
),

lookalike_scores as (
    select * from {{ ref('int_segments__lookalike_scores') }}
),

primary_now as (
    select
        customer_key,
        segment as primary_now
    from current_segments
    where segment_type = 'primary'
),

{% if is_incremental() -%}
    leaving as (
        select
            recorded.customer_key,
            recorded.segment,
            recorded.segment_type
        from {{ this }} as recorded
        left join current_segments
            on
                recorded.customer_key = current_segments.customer_key
                and recorded.segment = current_segments.segment
        where
            recorded.entered_on < {{ tagwise.as_of_date() }}
            and (recorded.exited_on is null or recorded.exited_on >= {{ tagwise.as_of_date() }})
            and current_segments.customer_key is null
    ),
{%- else -%}
    leaving as (
        select
            cast(null as string) as customer_key,
            cast(null as string) as segment,
            cast(null as string) as segment_type
        where 1 = 0
    ),
{%- endif %}

exit_reasons as (
    select
        leaving.customer_key,
        leaving.segment,
        leaving.segment_type,
        {{ tagwise.segment_exit_reason(tagwise.segment_catalog()) }} as exit_reason
    from leaving
    inner join inputs
        on leaving.customer_key = inputs.customer_key
    left join primary_now
        on leaving.customer_key = primary_now.customer_key
    left join profiling_withdrawals
        on leaving.customer_key = profiling_withdrawals.customer_key
    left join blocked_tags
        on leaving.customer_key = blocked_tags.customer_key
    left join lookalike_scores
        on
            leaving.customer_key = lookalike_scores.customer_key
            and leaving.segment = lookalike_scores.lookalike
),

{{ tagwise.history_intervals(
    'current_segments', 'erased', ['customer_key', 'segment', 'segment_type'], 'entered_on', 'exited_on',
    end_reasons='exit_reasons', end_reason='exit_reason'
) }}
