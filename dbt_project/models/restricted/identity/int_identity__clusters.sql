{#- Every current source record with the person it belongs to: the records identity_links
    connects, directly or through others, are one person. The key hashes the anchor record
    (earliest signup, then smallest id), so a record that arrives later joins an existing
    person without changing the key.

    One deterministic rule links each record to its group's first record, which is the
    anchor: one join finds it (the shipped catalog, at every run's scale). Otherwise every
    record takes the smallest anchor order among the groups of links it belongs to, once
    per round: with more rules, or the probabilistic one, groups chain and need more
    rounds. `links_join_one_person` fails the build when a chain needed more rounds than
    these. -#}
{%- set catalog = tagwise.identity_catalog() -%}
{%- set one_rule = (catalog.rules | length) <= 1 and not catalog.probabilistic -%}
{%- set rounds = 8 -%}
with records as (
    select * from {{ ref('int_identity__customer_records') }}
),

links as (
    select * from {{ ref('identity_links') }}
),

{#- sqlfluff reads CTEs made in a Jinja block as nested one level deeper. -#}
-- noqa: disable=LT02
{%- if one_rule %}

anchored as (
    select
        records.customer_id,
        records.email,
        coalesce(links.customer_id, records.customer_id) as anchor_customer_id
    from records
    left join links
        on records.customer_id = links.linked_customer_id
)
{%- else %}

record_orders as (
    select
        customer_id,
        email,
        row_number() over (order by signup_at, customer_id) as anchor_order
    from records
),

memberships as (
    {#- A group per link's first record and rule, and one of its own per record. -#}
    select distinct
        rule || '|' || customer_id as group_id,
        customer_id
    from links
    union
    select
        rule || '|' || customer_id as group_id,
        linked_customer_id as customer_id
    from links
    union
    select
        'self|' || customer_id as group_id,
        customer_id
    from records
),

labels_0 as (
    select
        customer_id,
        anchor_order as anchor_label
    from record_orders
),
{%- for round in range(rounds) %}

group_labels_{{ round }} as (
    select
        memberships.group_id,
        min(labels_{{ round }}.anchor_label) as anchor_label
    from memberships
    inner join labels_{{ round }}
        on memberships.customer_id = labels_{{ round }}.customer_id
    group by memberships.group_id
),

labels_{{ round + 1 }} as (
    select
        memberships.customer_id,
        min(group_labels_{{ round }}.anchor_label) as anchor_label
    from memberships
    inner join group_labels_{{ round }}
        on memberships.group_id = group_labels_{{ round }}.group_id
    group by memberships.customer_id
),
{%- endfor %}

anchored as (
    select
        record_orders.customer_id,
        record_orders.email,
        anchors.customer_id as anchor_customer_id
    from record_orders
    inner join labels_{{ rounds }} as final_labels
        on record_orders.customer_id = final_labels.customer_id
    inner join record_orders as anchors
        on final_labels.anchor_label = anchors.anchor_order
)
{%- endif %}
-- noqa: enable=LT02

select
    customer_id,
    email,
    anchor_customer_id,
    {{ dbt.hash('anchor_customer_id') }} as customer_key
from anchored
