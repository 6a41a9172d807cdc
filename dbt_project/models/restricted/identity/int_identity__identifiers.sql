{#- Every identifier tagwise has held for each person as of D (SPEC 3.6): the source id of
    each record merged into the person, every email of every version of those records
    recorded by the end of D, as given (trimmed, lower-cased), valid or not, and every phone
    of those versions that is a valid number in E.164 (stg_phones__phone_numbers; the sms
    destination's key). Privacy
    requests are resolved against these; `is_current` marks what the person holds as of D. -#}
with versions as (
    select * from {{ ref('stg_crm__customers') }}
    where updated_at < {{ tagwise.as_of_end() }}
),

clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

phone_numbers as (
    select * from {{ ref('stg_phones__phone_numbers') }}
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
),

latest_versions as (
    select
        customer_id,
        updated_at,
        row_number() over (partition by customer_id order by updated_at desc) as version_rank
    from versions
),

phones as (
    select
        clusters.customer_key,
        'phone' as identifier_type,
        phone_numbers.e164_phone as identifier,
        bool_or(latest_versions.customer_id is not null) as is_current
    from versions
    inner join clusters
        on versions.customer_id = clusters.customer_id
    inner join phone_numbers
        on versions.phone = phone_numbers.phone
    left join latest_versions
        on
            versions.customer_id = latest_versions.customer_id
            and versions.updated_at = latest_versions.updated_at
            and latest_versions.version_rank = 1
    where phone_numbers.e164_phone is not null
    group by clusters.customer_key, phone_numbers.e164_phone
)

select * from source_ids
union all
select * from emails
union all
select * from phones
