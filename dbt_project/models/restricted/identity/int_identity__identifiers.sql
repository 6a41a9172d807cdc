{#- Every identifier tagwise has held for each person as of D (SPEC 3.6): the source id of
    each record merged into the person, and every email of every version of those records
    recorded by the end of D, as given (trimmed, lower-cased), valid or not. Privacy
    requests are resolved against these; `is_current` marks what the person holds as of D. -#}
with versions as (
    select * from {{ ref('stg_crm__customers') }}
    where updated_at < {{ tagwise.as_of_end() }}
),

clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

source_ids as (
    select
        customer_key,
        'customer_id' as identifier_type,
        customer_id as identifier,
        true as is_current
    from clusters
),

emails as (
    select
        clusters.customer_key,
        'email' as identifier_type,
        versions.email_as_given as identifier,
        bool_or(versions.email_as_given = coalesce(clusters.email, '')) as is_current
    from versions
    inner join clusters
        on versions.customer_id = clusters.customer_id
    where versions.email_as_given <> ''
    group by clusters.customer_key, versions.email_as_given
)

select * from source_ids
union all
select * from emails
