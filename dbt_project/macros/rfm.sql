{#- RFM score 1-5 from a rank among `buyers` customers: least(5, 1 + floor(5 (rank - 1) / n)).
    least() skips nulls on every engine, so customers without orders are guarded
    explicitly: their ranks are null and so must be their scores. -#}
{% macro rfm_score(rank, buyers="buyers") -%}
    case
        when {{ rank }} is not null
            then cast(least(5, 1 + floor(5.0 * ({{ rank }} - 1) / {{ buyers }})) as integer)
    end
{%- endmacro %}
