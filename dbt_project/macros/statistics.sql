{#- Confidence intervals in SQL, so that audience_lift computes them on every engine. The
    simulation tests (tests/test_lift.py) check them against statsmodels and check their
    coverage. -#}

{#- The 97.5% quantile of the standard normal: two-sided 95% intervals. -#}
{% macro z_975() -%}
    1.959963984540054
{%- endmacro %}

{#- A bound of the Wilson score interval of a proportion `rate` of `n` trials: sign -1
    for the lower bound, +1 for the upper. -#}
{% macro wilson_bound(rate, n, sign) -%}
    (
        ({{ rate }} + {{ tagwise.z_975() }} * {{ tagwise.z_975() }} / (2.0 * {{ n }}))
        {{ "-" if sign < 0 else "+" }} {{ tagwise.z_975() }} * sqrt(
            {{ rate }} * (1 - {{ rate }}) / {{ n }}
            + {{ tagwise.z_975() }} * {{ tagwise.z_975() }} / (4.0 * {{ n }} * {{ n }})
        )
    ) / (1 + {{ tagwise.z_975() }} * {{ tagwise.z_975() }} / {{ n }})
{%- endmacro %}
