{#
    The as-of date D of a run (YYYY-MM-DD): var `as_of_date` when given (unit tests and
    hand-run dbt set it), else the environment variable TAGWISE_AS_OF_DATE (tagwise's runs
    set it), else today in UTC. Everything is computed as of the end of day D: an event
    counts when its timestamp is before as_of_end(), the first moment after D.

    tagwise passes D in the environment, read only while executing: a changed --vars
    makes dbt parse the whole project again (4 to 7 s a run), and an environment variable
    read while parsing makes it parse again every file that read it. Nothing parsed
    depends on D, so while parsing today stands in for it.
#}
{% macro as_of_date_string() %}
    {%- set value = var("as_of_date", "") | string | trim -%}
    {%- if value in ("", "none", "None") and execute -%}
        {%- set value = env_var("TAGWISE_AS_OF_DATE", "") | trim -%}
    {%- endif -%}
    {%- if value in ("", "none", "None") -%}
        {%- set value = modules.datetime.datetime.utcnow().strftime("%Y-%m-%d") -%}
    {%- endif -%}
    {%- if not modules.re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", value) -%}
        {{ exceptions.raise_compiler_error("as-of date (var as_of_date or TAGWISE_AS_OF_DATE) must be YYYY-MM-DD, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{- value -}}
{% endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}

{#- The day `days` after D, as a timestamp literal: computed here, so every engine reads
    the same constant (dbt-spark's dateadd is a long expression that Spark 4.3 fails to
    plan in some queries). -#}
{% macro as_of_plus_days(days) -%}
    {%- set day = modules.datetime.date.fromisoformat(as_of_date_string())
        + modules.datetime.timedelta(days=days) -%}
    cast('{{ day.isoformat() }} 00:00:00' as timestamp)
{%- endmacro %}

{% macro as_of_end() -%}
    {{ tagwise.as_of_plus_days(1) }}
{%- endmacro %}

{#- Events of the last n days: UTC date d with D - n < d <= D. -#}
{% macro in_last_days(timestamp_column, days) -%}
    ({{ timestamp_column }} >= {{ tagwise.as_of_plus_days(1 - days) }}
        and {{ timestamp_column }} < {{ as_of_end() }})
{%- endmacro %}

{#- Whole years from `birth_date` to `on_date`. -#}
{% macro age_in_years(birth_date, on_date) -%}
    (
        extract(year from {{ on_date }}) - extract(year from {{ birth_date }})
        - case
            when extract(month from {{ on_date }}) * 100 + extract(day from {{ on_date }})
                < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
                then 1
            else 0
        end
    )
{%- endmacro %}

{#-
    CTEs that bring the model's interval history up to D, ending in a final select.
    `current` holds the keys (text columns) true as of D, `removed` the entities whose
    history must go (erased people); what is recorded so far is read from the model
    itself (columns `starts` and `ends`). Intervals
    written by runs as of D or later are first undone, so a re-run of D is idempotent.
    On an incremental run only entities (the first key column) whose history changed are
    returned, all their rows; an entity left with none returns one tombstone row (null
    `starts`) that the model's post-hook `delete_history_tombstones` removes, because
    delete+insert deletes only the entities it inserts.
-#}
{#- end_reasons, when given, names a CTE of (keys..., end_reason) saying why an interval
    that closes as of D closed; it is kept in the column `end_reason` names. -#}
{% macro history_intervals(current, removed, keys, starts="valid_from", ends="valid_to", end_reasons=none, end_reason="end_reason") -%}
    {%- set recorded = "recorded" -%}
    {%- set entity = keys[0] -%}
    {%- set key_list = keys | join(", ") -%}
    {%- set joined = [] -%}
    {%- for key in keys -%}{%- do joined.append("open_rows." ~ key ~ " = " ~ current ~ "." ~ key) -%}{%- endfor -%}
    {%- set reason_keys = [] -%}
    {%- for key in keys -%}{%- do reason_keys.append("open_rows." ~ key ~ " = " ~ end_reasons ~ "." ~ key) -%}{%- endfor -%}
    recorded as (
        {% if is_incremental() -%}
            select {{ key_list }}, {{ starts }}, {{ ends }}{% if end_reasons %}, {{ end_reason }}{% endif %} from {{ this }}
        {%- else -%}
            select
                {% for key in keys %}cast(null as string) as {{ key }},{% endfor %}
                cast(null as date) as {{ starts }},
                cast(null as date) as {{ ends }}{% if end_reasons %},
                cast(null as string) as {{ end_reason }}{% endif %}
            where 1 = 0
        {%- endif %}
    ),

    rewound as (
        select
            {{ key_list }},
            {{ starts }},
            case when {{ ends }} >= {{ tagwise.as_of_date() }} then null else {{ ends }} end as {{ ends }}
            {%- if end_reasons %},
                case when {{ ends }} >= {{ tagwise.as_of_date() }} then null else {{ end_reason }} end as {{ end_reason }}
            {%- endif %}
        from {{ recorded }}
        where
            {{ starts }} < {{ tagwise.as_of_date() }}
            and {{ entity }} not in (select {{ entity }} from {{ removed }})
    ),

    open_rows as (
        select * from rewound
        where {{ ends }} is null
    ),

    -- Open streaks against what holds as of D: a full outer join rather than a union of
    -- anti-joins, which DuckDB 2.0.0 can answer wrongly (see README, known issues).
    updated_streaks as (
        select
            {% for key in keys %}coalesce(open_rows.{{ key }}, {{ current }}.{{ key }}) as {{ key }},{% endfor %}
            coalesce(open_rows.{{ starts }}, {{ tagwise.as_of_date() }}) as {{ starts }},
            case when {{ current }}.{{ entity }} is null then {{ tagwise.as_of_date() }} end as {{ ends }}
            {%- if end_reasons %},
                case when {{ current }}.{{ entity }} is null then {{ end_reasons }}.{{ end_reason }} end as {{ end_reason }}
            {%- endif %}
        from open_rows
        full outer join {{ current }}
            on {{ joined | join(" and ") }}
        {%- if end_reasons %}
            left join {{ end_reasons }}
                on {{ reason_keys | join(" and ") }}
        {%- endif %}
    ),

    history as (
        select * from rewound
        where {{ ends }} is not null
        union all
        select * from updated_streaks
    )

    {% if is_incremental() -%}
        , changed as (
            select {{ entity }} from (
                select * from history
                except
                select * from {{ recorded }}
            ) as added_rows
            union
            select {{ entity }} from (
                select * from {{ recorded }}
                except
                select * from history
            ) as dropped_rows
        )

        select history.*
        from history
        inner join changed
            on history.{{ entity }} = changed.{{ entity }}
        union all
        select
            changed.{{ entity }},
            {% for key in keys[1:] %}cast(null as string) as {{ key }},{% endfor %}
            cast(null as date) as {{ starts }},
            cast(null as date) as {{ ends }}{% if end_reasons %},
            cast(null as string) as {{ end_reason }}{% endif %}
        from changed
        where changed.{{ entity }} not in (select {{ entity }} from history)
    {%- else -%}
        select * from history
    {%- endif %}
{%- endmacro %}

{% macro delete_history_tombstones(starts="valid_from") -%}
    {{ return(adapter.dispatch("delete_history_tombstones", "tagwise")(starts)) }}
{%- endmacro %}

{% macro default__delete_history_tombstones(starts) -%}
    delete from {{ this }} where {{ starts }} is null
{%- endmacro %}

{#- Parquet tables have no DELETE: keep the other rows (see spark_incremental.sql). -#}
{% macro spark__delete_history_tombstones(starts) -%}
    {{ tagwise.replace_table(this, "select * from " ~ this ~ " where " ~ starts ~ " is not null") }}
{%- endmacro %}
