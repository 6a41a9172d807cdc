{#-
    Segment membership from the declarative catalog (meta of int_segments__assignments in
    segment_catalog.yml): primary segments as one case expression, first match wins;
    audiences as one select each; generated audiences named from a column's values.
-#}

{#- has_tag('x') reads the `|tag|tag|` list of int_segments__inputs. -#}
{% macro segment_condition(condition) -%}
    {{- modules.re.sub(var("has_tag_pattern"), "(current_tags like '%|\\1|%')", condition) -}}
{%- endmacro %}

{#- Every tag a segment or audience condition names: int_segments__inputs carries each
    one's evidence for the reasons. -#}
{% macro segment_condition_tags() -%}
    {%- set catalog = tagwise.segment_catalog() -%}
    {%- set found = [] -%}
    {%- for definition in catalog.primary + catalog.audiences -%}
        {%- for tag in tagwise.condition_tags(definition.when) if tag not in found -%}{%- do found.append(tag) -%}{%- endfor -%}
    {%- endfor -%}
    {{- return(found | sort) -}}
{%- endmacro %}

{% macro tag_evidence_column(tag) -%}
    evidence__{{ tag | replace("-", "_") }}
{%- endmacro %}

{% macro holds_tag(tag) -%}
    (current_tags like '%|{{ tag }}|%')
{%- endmacro %}

{% macro column_value(column) -%}
    {{ tagwise.string_literal(column ~ " = ") }} || coalesce(cast({{ column }} as string), 'null')
{%- endmacro %}

{#- Why a condition holds for a customer: the tags it names that the customer holds, each
    with its evidence, then the value of each column it names. `otherwise` is the text
    for a condition that names neither (`true`). -#}
{% macro condition_reason(condition, otherwise) -%}
    {%- set parts = [] -%}
    {%- set held = [] -%}
    {%- for tag in tagwise.condition_tags(condition) -%}
        {%- do held.append("case when " ~ tagwise.holds_tag(tag) ~ " then " ~ tagwise.string_literal(tag ~ " (") ~ " || coalesce(" ~ tagwise.tag_evidence_column(tag) ~ ", 'no evidence') || ')' end") -%}
    {%- endfor -%}
    {%- if held -%}{%- do parts.append("'has ' || nullif(concat_ws(' and ', " ~ held | join(", ") ~ "), '')") -%}{%- endif -%}
    {%- for column in tagwise.condition_columns(condition) -%}{%- do parts.append(tagwise.column_value(column)) -%}{%- endfor -%}
    {%- if parts -%}
        concat_ws('; ', {{ parts | join(", ") }})
    {%- else -%}
        {{ tagwise.string_literal(otherwise) }}
    {%- endif -%}
{%- endmacro %}

{#- Why a condition no longer holds: each tag it names that the customer lost, with the
    values of the rule's columns now, or the profiling objection that removed it; then
    the value of each column the condition names. Reads int_segments__inputs and
    `profiling_withdrawn_on`, `profiling_blocked_tags` (a `|tag|` list). -#}
{% macro condition_exit_reason(condition) -%}
    {%- set rules = {} -%}
    {%- for rule in tagwise.tag_rules() -%}{%- do rules.update({rule.tag: rule.when}) -%}{%- endfor -%}
    {%- set parts = [] -%}
    {%- for tag in tagwise.condition_tags(condition) -%}
        {%- set values = [] -%}
        {%- for column in tagwise.condition_columns(rules.get(tag, "")) -%}{%- do values.append(tagwise.column_value(column)) -%}{%- endfor -%}
        {%- set detail = ("' (' || concat_ws(', ', " ~ values | join(", ") ~ ") || ')'") if values else "''" -%}
        {%- do parts.append(
            "case when not " ~ tagwise.holds_tag(tag) ~ " then " ~ tagwise.string_literal("does not have " ~ tag)
            ~ " || case when coalesce(profiling_blocked_tags, '|') like '%|" ~ tag ~ "|%'"
            ~ " then ' (profiling consent withdrawn ' || cast(profiling_withdrawn_on as string) || ')'"
            ~ " else " ~ detail ~ " end end"
        ) -%}
    {%- endfor -%}
    {%- for column in tagwise.condition_columns(condition) -%}{%- do parts.append(tagwise.column_value(column)) -%}{%- endfor -%}
    {%- if parts -%}
        nullif(concat_ws('; ', {{ parts | join(", ") }}), '')
    {%- else -%}
        cast(null as string)
    {%- endif -%}
{%- endmacro %}

{#- Why a customer left a segment as of D, over `leaving` (segment, segment_type) joined
    to int_segments__inputs, the customer's primary segment now (`primary_now`) and, for a
    lookalike, the customer's row of int_segments__lookalike_scores (`lookalike_scores`). A
    primary segment also says where the customer went. -#}
{% macro segment_exit_reason(catalog) -%}
    case
        {%- for definition in catalog.primary %}
            when leaving.segment = {{ tagwise.string_literal(definition.segment) }}
                then concat_ws(
                    '; ',
                    case when not ({{ tagwise.segment_condition(definition.when) }}) then {{ tagwise.condition_exit_reason(definition.when) }} end,
                    'now in ' || primary_now
                )
        {%- endfor %}
        {%- for definition in catalog.audiences %}
            when leaving.segment = {{ tagwise.string_literal(definition.audience) }}
                then {{ tagwise.condition_exit_reason(definition.when) }}
        {%- endfor %}
        {%- for definition in catalog.get("lookalikes", []) %}
            when leaving.segment = {{ tagwise.string_literal(definition.audience) }}
                then case
                    when lookalike_scores.customer_key is null
                        then 'profiling consent withdrawn ' || cast(profiling_withdrawn_on as string)
                    when lookalike_scores.is_seed
                        then {{ tagwise.string_literal("now in the seed (" ~ tagwise.lookalike_seed_name(definition) ~ ")") }}
                    {%- if definition.size %}
                        else 'now ranked ' || cast(lookalike_scores.candidate_rank as string)
                            || {{ tagwise.string_literal(", beyond the audience's size of " ~ definition.size) }}
                    {%- else %}
                        else 'score now ' || cast(cast(lookalike_scores.score as decimal(18, 3)) as string)
                            || {{ tagwise.string_literal(", below min_score " ~ definition.min_score) }}
                    {%- endif %}
                end
        {%- endfor %}
        {%- for definition in catalog.generated %}
            when leaving.segment like {{ tagwise.string_literal(definition.prefix ~ "%") }}
                then {{ tagwise.string_literal(definition.column ~ " is now ") }} || coalesce(cast({{ definition.column }} as string), 'null')
        {%- endfor %}
    end
{%- endmacro %}

{#- A catalog definition's name: its segment, audience or generated audiences' prefix. -#}
{% macro definition_name(definition) -%}
    {{- return(definition.segment or definition.audience or definition.prefix) -}}
{%- endmacro %}

{% macro segment_version(definition, position="") -%}
    {{- local_md5(tagwise.definition_name(definition) ~ "|" ~ (definition.when or definition.column) ~ "|" ~ position) -}}
{%- endmacro %}

{#- `|email|sms|` for a segment the destination catalog's destinations select, else `|`. -#}
{% macro segment_destinations(kind, name) -%}
    {%- set receivers = [] -%}
    {%- for destination in tagwise.destination_catalog() -%}
        {%- if name in ((destination.selects or {}).get(kind) or []) -%}{%- do receivers.append(destination.destination) -%}{%- endif -%}
    {%- endfor -%}
    {{ tagwise.string_literal("|" ~ receivers | join("|") ~ ("|" if receivers else "")) }}
{%- endmacro %}

{#- Whether the customer is held out of a definition with `holdout: <share>` (SPEC 3.8): a
    draw from (salt, customer_key) below the share. The salt defaults to the name, so a
    customer's draws for two audiences are independent and stay put from day to day;
    changing the salt draws the group again. -#}
{% macro holdout_salt(definition) -%}
    {{- return(definition.salt or tagwise.definition_name(definition)) -}}
{%- endmacro %}

{% macro is_held_out(definition, customer_key="customer_key") -%}
    {%- if definition.holdout -%}
        ({{ tagwise.md5_fraction(tagwise.string_literal(tagwise.holdout_salt(definition) ~ ":") ~ " || " ~ customer_key) }} < {{ definition.holdout }})
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#- Whether the customer is held out of the segment or audience the column `name` holds:
    one branch per definition with a holdout; false for any other name. -#}
{% macro held_out_by_name(definitions, name, customer_key="customer_key") -%}
    {%- set held = definitions | selectattr("holdout") | list -%}
    {%- if held %}
        case
            {%- for definition in held %}
                when {{ name }} = {{ tagwise.string_literal(tagwise.definition_name(definition)) }}
                    then {{ tagwise.is_held_out(definition, customer_key) }}
            {%- endfor %}
            else false
        end
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{% macro segment_assignments(catalog, inputs) -%}
    with inputs as (
        select * from {{ inputs }}
    ),

    primary_assignment as (
        select
            customer_key,
            case
                {%- for definition in catalog.get("primary", []) %}
                    when {{ tagwise.segment_condition(definition.when) }} then {{ tagwise.string_literal(definition.segment) }}
                {%- endfor %}
            end as segment,
            case
                {%- for definition in catalog.get("primary", []) %}
                    when {{ tagwise.segment_condition(definition.when) }}
                        then {{ tagwise.condition_reason(definition.when, "no earlier segment condition held") }}
                {%- endfor %}
            end as reason
        from inputs
    ),

    primary_holdout as (
        select
            customer_key,
            segment,
            reason,
            {{ tagwise.held_out_by_name(catalog.get("primary", []), "segment") }} as is_holdout
        from primary_assignment
    ),

    versions as (
        select
            cast(null as string) as segment,
            cast(null as string) as definition_version,
            cast(null as string) as destinations
        where 1 = 0
        {%- for definition in catalog.get("primary", []) %}
            union all
            select
                {{ tagwise.string_literal(definition.segment) }} as segment,
                {{ tagwise.string_literal(tagwise.segment_version(definition, loop.index)) }} as definition_version,
                {{ tagwise.segment_destinations("segments", definition.segment) }} as destinations
        {%- endfor %}
    )

    select
        primary_holdout.customer_key,
        primary_holdout.segment,
        'primary' as segment_type,
        versions.definition_version,
        versions.destinations,
        primary_holdout.reason,
        primary_holdout.is_holdout
    from primary_holdout
    inner join versions
        on primary_holdout.segment = versions.segment
    {%- for definition in catalog.get("audiences", []) %}
        union all
        select
            customer_key,
            {{ tagwise.string_literal(definition.audience) }} as segment,
            'audience' as segment_type,
            {{ tagwise.string_literal(tagwise.segment_version(definition)) }} as definition_version,
            {{ tagwise.segment_destinations("audiences", definition.audience) }} as destinations,
            {{ tagwise.condition_reason(definition.when, "condition " ~ definition.when ~ " holds") }} as reason,
            {{ tagwise.is_held_out(definition) }} as is_holdout
        from inputs
        where {{ tagwise.segment_condition(definition.when) }}
    {%- endfor %}
    {%- for definition in catalog.get("generated", []) %}
        union all
        select
            customer_key,
            {{ tagwise.string_literal(definition.prefix) }} || value_name as segment,
            'audience' as segment_type,
            {{ tagwise.string_literal(tagwise.segment_version(definition)) }} as definition_version,
            {{ tagwise.segment_destinations("generated", definition.prefix) }} as destinations,
            reason,
            false as is_holdout
        from (
            select
                customer_key,
                {{ tagwise.name_part(definition.column) }} as value_name,
                {{ tagwise.column_value(definition.column) }} as reason,
                count(*) over (partition by {{ tagwise.name_part(definition.column) }}) as members
            from inputs
            where {{ tagwise.name_part(definition.column) }} <> ''
        ) as generated_values
        {#- A value too few customers share makes no audience (min_members, default 1). #}
        where members >= {{ definition.get("min_members", 1) | int }}
    {%- endfor %}
{%- endmacro %}

{#- A value made into part of a name, as catalog names are (lower-case words joined by
    `-`): a category `Garden, Outdoor` makes `garden-outdoor`, never a name with the list
    separator or quotes in it. A value with no letter or digit makes no name. -#}
{% macro name_part(column) -%}
    {{ tagwise.regexp_replace_all(
        tagwise.regexp_replace_all("lower(" ~ column ~ ")", "[^a-z0-9]+", "-"), "^-+|-+$", ""
    ) }}
{%- endmacro %}

{#- "Converted after a send", the one definition lift and campaign performance share
    (SPEC 3.8): a completed order after the send and within the var conversion_days of
    it, (sent_at, sent_at + N days]. An order at the very moment of the send was not
    caused by it. -#}
{% macro converted_after_send(sent_at, ordered_at) -%}
    {{ sent_at }} < {{ ordered_at }}
    and {{ ordered_at }} <= {{ tagwise.conversion_window_end(sent_at) }}
{%- endmacro %}

{#- When the conversion window of a send closes. -#}
{% macro conversion_window_end(sent_at) -%}
    {{ dbt.dateadd('day', var('conversion_days'), sent_at) }}
{%- endmacro %}
