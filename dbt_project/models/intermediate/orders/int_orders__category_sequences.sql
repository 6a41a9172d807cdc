{#- Per customer, the category sequences of the last 365 days: pairs "A>B" where a completed
    order with a line in category B came 1 to 7 days after one with a line in category A
    (A <> B), as `|A>B|C>D|` so that a tag condition can ask for one with
    `like '%|A>B|%'` (SPEC 3.11). Only the customer's most frequent pairs are kept: a
    weekly shopper of many categories would otherwise carry thousands. -#}
{%- set within_days = 7 -%}
{%- set pairs_kept = 20 -%}
with completed_lines as (
    select * from {{ ref('int_order_lines__revenue_365d') }}
),

completed_orders as (
    select * from {{ ref('int_orders__completed') }}
),

category_days as (
    select distinct
        completed_lines.customer_key,
        completed_lines.category,
        completed_orders.ordered_on
    from completed_lines
    inner join completed_orders
        on completed_lines.order_id = completed_orders.order_id
    where completed_lines.category is not null
),

pairs as (
    select
        earlier.customer_key,
        earlier.category || '>' || later.category as category_pair,
        least(earlier.category, later.category)
        || '|' || greatest(earlier.category, later.category) as categories,
        count(*) as times
    from category_days as earlier
    inner join category_days as later
        on
            earlier.customer_key = later.customer_key
            and earlier.category <> later.category
            and earlier.ordered_on < later.ordered_on
            and {{ tagwise.days_between('earlier.ordered_on', 'later.ordered_on') }} <= {{ within_days }}
    group by earlier.customer_key, earlier.category, later.category
),

ranked as (
    select
        customer_key,
        category_pair,
        -- Ties are broken by a hash of the two categories, whichever came first: in
        -- alphabetical order, A>B would be kept where B>A is cut, and a sequence made.
        row_number() over (
            partition by customer_key
            order by times desc, {{ tagwise.md5_fraction('categories') }} asc, categories asc, category_pair asc
        ) as pair_rank
    from pairs
)

select
    customer_key,
    '|' || {{ tagwise.sorted_list_agg('category_pair', '|') }} || '|' as category_sequences_365d
from ranked
where pair_rank <= {{ pairs_kept }}
group by customer_key
