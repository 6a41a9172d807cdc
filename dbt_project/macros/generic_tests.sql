{#- Generic data tests the project needs (no hub packages can be fetched here). -#}

{% test unique_combination(model, columns) %}
    select
        {{ columns | join(", ") }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(", ") }}
    having count(*) > 1
{% endtest %}

{% test between(model, column_name, min_value=none, max_value=none) %}
    select {{ column_name }}
    from {{ model }}
    where
        {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% endif %}
{% endtest %}

{% test row_count_matches(model, other) %}
    select
        (select count(*) from {{ model }}) as rows_here,
        (select count(*) from {{ other }}) as rows_there
    where (select count(*) from {{ model }}) <> (select count(*) from {{ other }})
{% endtest %}

{#- A synonym must not shadow a tag of the taxonomy, or the same word would mean two things. -#}
{% test no_alias_is_a_tag(model) %}
    select synonyms.alias
    from {{ model }} as synonyms
    inner join {{ ref('tag_taxonomy') }} as taxonomy
        on synonyms.alias = taxonomy.tag
{% endtest %}
