{#- Who each targeted campaign was meant for: the members of the segment or audience it
    named on its send date (from history when history reaches back that far, else current
    membership; membership_basis says which), and whether each was held out of it by the
    definition's holdout (SPEC 3.8). A campaign whose audience had no members has one row
    with a null customer_key, so that every campaign is reported. -#}
with campaigns as (
    select * from {{ ref('stg_esp__email_campaigns') }}
    where
        audience is not null
        and sent_at < {{ tagwise.as_of_end() }}
),

history as (
    select * from {{ ref('segment_membership_history') }}
),

history_start as (
    select min(as_of_date) as first_recorded from {{ ref('history_as_of_dates') }}
),

campaign_basis as (
    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.sent_at,
        campaigns.audience,
        case
            when cast(campaigns.sent_at as date) >= history_start.first_recorded then 'history at send date'
            else 'current membership'
        end as membership_basis
    from campaigns
    cross join history_start
),

members as (
    select distinct
        campaign_basis.campaign_id,
        history.customer_key
    from campaign_basis
    inner join history
        on
            campaign_basis.audience = history.segment
            and (
                (
                    campaign_basis.membership_basis = 'history at send date'
                    and history.entered_on <= cast(campaign_basis.sent_at as date)
                    and (history.exited_on is null or history.exited_on > cast(campaign_basis.sent_at as date))
                )
                or (campaign_basis.membership_basis = 'current membership' and history.exited_on is null)
            )
)

{%- set catalog = tagwise.segment_catalog() %}
{%- set definitions = catalog.primary + catalog.audiences %}
{%- set held_names = [] %}
{%- for definition in definitions | selectattr("holdout") %}
    {%- do held_names.append(tagwise.string_literal(tagwise.definition_name(definition))) %}
{%- endfor %}

select
    campaign_basis.campaign_id,
    campaign_basis.campaign_name,
    campaign_basis.sent_at,
    campaign_basis.audience,
    campaign_basis.membership_basis,
    {% if held_names -%}
        campaign_basis.audience in ({{ held_names | join(", ") }})
    {%- else -%}
        false
    {%- endif %} as has_holdout,
    members.customer_key,
    {{ tagwise.held_out_by_name(definitions, "campaign_basis.audience", "members.customer_key") }} as is_holdout
from campaign_basis
left join members
    on campaign_basis.campaign_id = members.campaign_id
