{#- The effect of each targeted campaign (SPEC 3.8): its audience's members who were not
    held out against those held out at random, over the var conversion_days after the
    send. Treated members count whether or not a destination reached them (intention to
    treat), so both groups are alike except for the campaign. Methods, at 95%:
    - conversion lift (difference of rates): Newcombe's hybrid score interval (his method
      10), from each group's Wilson score interval;
    - relative conversion lift (ratio of rates - 1): the Katz log interval of the ratio;
    - revenue lift per member (difference of means): Welch's unequal-variance interval
      with the normal quantile, which the minimum group size makes a fair approximation;
    - relative revenue lift (ratio of means - 1): the delta method on the log ratio.
    Below lift_min_group_size members in either group, or with no conversion in one, the
    status is `not enough data` and no lift is given. -#}
with lift_groups as (
    select * from {{ ref('audience_lift_groups') }}
),

rates as (
    select
        *,
        case
            when not has_holdout then 'no holdout'
            when not window_closed then 'window open'
            when
                treated_members < {{ var('lift_min_group_size') }}
                or held_out_members < {{ var('lift_min_group_size') }}
                or treated_converted = 0
                or held_out_converted = 0
                then 'not enough data'
            else 'measured'
        end as status,
        cast(treated_converted as double) / nullif(treated_members, 0) as treated_conversion_rate,
        cast(held_out_converted as double) / nullif(held_out_members, 0) as held_out_conversion_rate,
        cast(treated_revenue as double) / nullif(treated_members, 0) as treated_revenue_per_member,
        cast(held_out_revenue as double) / nullif(held_out_members, 0) as held_out_revenue_per_member
    from lift_groups
),

spreads as (
    select
        campaign_id,
        treated_members as n1,
        held_out_members as n2,
        treated_converted as x1,
        held_out_converted as x2,
        treated_conversion_rate as p1,
        held_out_conversion_rate as p2,
        treated_revenue_per_member as m1,
        held_out_revenue_per_member as m2,
        {{ tagwise.wilson_bound('treated_conversion_rate', 'treated_members', -1) }} as l1,
        {{ tagwise.wilson_bound('treated_conversion_rate', 'treated_members', 1) }} as u1,
        {{ tagwise.wilson_bound('held_out_conversion_rate', 'held_out_members', -1) }} as l2,
        {{ tagwise.wilson_bound('held_out_conversion_rate', 'held_out_members', 1) }} as u2,
        -- Sample variances of revenue per member (n - 1 in the denominator).
        greatest(
            cast(treated_revenue_squares as double)
            - treated_members * treated_revenue_per_member * treated_revenue_per_member,
            0
        ) / (treated_members - 1) as v1,
        greatest(
            cast(held_out_revenue_squares as double)
            - held_out_members * held_out_revenue_per_member * held_out_revenue_per_member,
            0
        ) / (held_out_members - 1) as v2
    from rates
    where status = 'measured'
),

intervals as (
    select
        campaign_id,
        p1 - p2 - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2)) as conversion_lift_lower,
        p1 - p2 + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2)) as conversion_lift_upper,
        exp(ln(p1 / p2) - {{ tagwise.z_975() }} * sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2)) - 1
            as relative_conversion_lift_lower,
        exp(ln(p1 / p2) + {{ tagwise.z_975() }} * sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2)) - 1
            as relative_conversion_lift_upper,
        m1 - m2 - {{ tagwise.z_975() }} * sqrt(v1 / n1 + v2 / n2) as revenue_lift_lower,
        m1 - m2 + {{ tagwise.z_975() }} * sqrt(v1 / n1 + v2 / n2) as revenue_lift_upper,
        exp(
            ln(nullif(m1, 0) / nullif(m2, 0)) - {{ tagwise.z_975() }} * sqrt(v1 / (n1 * m1 * m1) + v2 / (n2 * m2 * m2))
        ) - 1 as relative_revenue_lift_lower,
        exp(
            ln(nullif(m1, 0) / nullif(m2, 0)) + {{ tagwise.z_975() }} * sqrt(v1 / (n1 * m1 * m1) + v2 / (n2 * m2 * m2))
        ) - 1 as relative_revenue_lift_upper
    from spreads
)

select
    rates.campaign_id,
    rates.campaign_name,
    rates.sent_at,
    rates.audience,
    rates.membership_basis,
    rates.status,
    rates.treated_members,
    rates.held_out_members,
    rates.treated_conversion_rate,
    rates.held_out_conversion_rate,
    case when rates.status = 'measured' then rates.treated_conversion_rate - rates.held_out_conversion_rate end
        as conversion_lift,
    intervals.conversion_lift_lower,
    intervals.conversion_lift_upper,
    case when rates.status = 'measured' then rates.treated_conversion_rate / rates.held_out_conversion_rate - 1 end
        as relative_conversion_lift,
    intervals.relative_conversion_lift_lower,
    intervals.relative_conversion_lift_upper,
    rates.treated_revenue_per_member,
    rates.held_out_revenue_per_member,
    case when rates.status = 'measured' then rates.treated_revenue_per_member - rates.held_out_revenue_per_member end
        as revenue_lift,
    intervals.revenue_lift_lower,
    intervals.revenue_lift_upper,
    case
        when rates.status = 'measured'
            then rates.treated_revenue_per_member / nullif(rates.held_out_revenue_per_member, 0) - 1
    end as relative_revenue_lift,
    intervals.relative_revenue_lift_lower,
    intervals.relative_revenue_lift_upper,
    coalesce(intervals.conversion_lift_lower > 0 or intervals.conversion_lift_upper < 0, false)
        as is_conversion_lift_significant,
    {{ var('conversion_days') }} as conversion_days,
    {{ tagwise.as_of_date() }} as as_of_date
from rates
left join intervals
    on rates.campaign_id = intervals.campaign_id
