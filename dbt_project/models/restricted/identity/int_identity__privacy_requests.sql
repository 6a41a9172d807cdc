{#- Every privacy request received by the end of D with the person it names: by a source
    id merged into the person, else by an email any of the person's records has held (an
    email someone holds as of D names that person rather than a former holder), else by the
    hash of an identifier of a person already erased and purged. A request that names no
    one keeps a null key and the reason. -#}
with requests as (
    select * from {{ ref('stg_privacy__privacy_requests') }}
    where received_at < {{ tagwise.as_of_end() }}
),

identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

erased_identifiers as (
    select * from {{ source('erasure', 'erased_identifiers') }}
),

by_id as (
    select
        requests.request_id,
        identifiers.customer_key
    from requests
    inner join identifiers
        on
            identifiers.identifier_type = 'customer_id'
            and requests.customer_id = identifiers.identifier
),

by_email as (
    select
        requests.request_id,
        identifiers.customer_key,
        dense_rank() over (
            partition by requests.request_id
            order by case when identifiers.is_current then 0 else 1 end
        ) as match_rank
    from requests
    inner join identifiers
        on
            identifiers.identifier_type = 'email'
            and requests.email_as_given = identifiers.identifier
    where requests.request_id not in (select by_id.request_id from by_id)
),

found as (
    select
        request_id,
        customer_key
    from by_id
    union all
    select
        request_id,
        customer_key
    from by_email
    where match_rank = 1
),

{# By the hash of the id, or of the email: two equality joins (one join on either would
    compare every request with every erased identifier). #}
by_erased as (
    select
        requests.request_id,
        erased_identifiers.customer_key
    from requests
    inner join erased_identifiers
        on {{ tagwise.sha256_hex('requests.customer_id') }} = erased_identifiers.identifier_sha256
    where
        erased_identifiers.identifier_type = 'customer_id'
        and requests.request_id not in (select found.request_id from found)
    union
    select
        requests.request_id,
        erased_identifiers.customer_key
    from requests
    inner join erased_identifiers
        on {{ tagwise.sha256_hex('requests.email_as_given') }} = erased_identifiers.identifier_sha256
    where
        erased_identifiers.identifier_type = 'email'
        and requests.request_id not in (select found.request_id from found)
),

matched as (
    select * from found
    union all
    select * from by_erased
)

select
    requests.request_id,
    requests.request_type,
    requests.customer_id,
    requests.email_as_given as email,
    requests.received_at,
    matched.customer_key,
    case
        when matched.customer_key is null
            then
                'names no customer id or email held as of '
                || cast({{ tagwise.as_of_date() }} as string)
                || case
                    when requests.email_as_given is not null and requests.email is null
                        then ' (the email is not a valid address, and no record held it)'
                    else ''
                end
    end as unresolved_reason
from requests
left join matched
    on requests.request_id = matched.request_id
