{#-
    Lookalike audiences (SPEC 3.10): the catalog's `lookalikes` entries, each a seed (a
    tag, a primary segment, an audience of the same catalog, or the buyers of a product)
    grown by a naive Bayes
    similarity model over binned features (var lookalike_features). The model runs in the
    warehouse, in the same build as the seed, on both engines; models/intermediate/
    segments/int_segments__lookalike_scores.sql fits and scores it.
-#}

{#- Whether the customer (a row of int_segments__inputs) is in a lookalike's seed. A primary
    segment's seed is the first-match case over the catalog's primary segments; a
    product's, its buyers up to D in the CTE `product_buyers` (product_id, customer_key). -#}
{% macro lookalike_seed_condition(definition, catalog) -%}
    {%- set seed = definition.seed -%}
    {%- if seed.product -%}
        customer_key in (
            select product_buyers.customer_key from product_buyers
            where product_buyers.product_id = {{ tagwise.string_literal(seed.product) }}
        )
    {%- elif seed.tag -%}
        {{ tagwise.holds_tag(seed.tag) }}
    {%- elif seed.audience -%}
        {%- for audience in catalog.audiences if audience.audience == seed.audience -%}
            ({{ tagwise.segment_condition(audience.when) }})
        {%- endfor -%}
    {%- else -%}
        (case
            {%- for segment in catalog.primary %}
                when {{ tagwise.segment_condition(segment.when) }} then {{ tagwise.string_literal(segment.segment) }}
            {%- endfor %}
        end) = {{ tagwise.string_literal(seed.segment) }}
    {%- endif -%}
{%- endmacro %}

{#- The rule-input columns a condition reads, directly or through the rules of the tags its
    has_tag() calls name. -#}
{% macro condition_reads(condition) -%}
    {%- set rules = {} -%}
    {%- for rule in tagwise.tag_rules() -%}{%- do rules.update({rule.tag: rule.when}) -%}{%- endfor -%}
    {%- set read = tagwise.condition_columns(condition) -%}
    {%- for tag in tagwise.condition_tags(condition) -%}
        {%- for column in tagwise.condition_columns(rules.get(tag, "")) if column not in read -%}{%- do read.append(column) -%}{%- endfor -%}
    {%- endfor -%}
    {{- return(read) -}}
{%- endmacro %}

{#- The columns that define a lookalike's seed: a tag's rule, an audience's condition, or
    the conditions of a primary segment and of every segment before it (first match); a
    product's buyers are defined by their orders, no column. -#}
{% macro lookalike_seed_columns(definition, catalog) -%}
    {%- set seed = definition.seed -%}
    {%- set conditions = [] -%}
    {%- if seed.tag -%}
        {%- do conditions.append("has_tag('" ~ seed.tag ~ "')") -%}
    {%- elif seed.audience -%}
        {%- for audience in catalog.audiences if audience.audience == seed.audience -%}{%- do conditions.append(audience.when) -%}{%- endfor -%}
    {%- elif seed.segment -%}
        {%- set position = (catalog.primary | map(attribute="segment") | list).index(seed.segment) -%}
        {%- for segment in catalog.primary[:position + 1] -%}{%- do conditions.append(segment.when | string) -%}{%- endfor -%}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for condition in conditions -%}
        {%- for column in tagwise.condition_reads(condition) if column not in columns -%}{%- do columns.append(column) -%}{%- endfor -%}
    {%- endfor -%}
    {{- return(columns) -}}
{%- endmacro %}

{#- The features a lookalike's model reads: every feature of var lookalike_features except
    those the seed's definition reveals (the feature's column or one of its `related`). A
    model that read the seed's own columns would only learn its definition back. -#}
{% macro lookalike_model_features(definition, catalog) -%}
    {%- set defining = tagwise.lookalike_seed_columns(definition, catalog) -%}
    {%- set kept = [] -%}
    {%- for feature in var("lookalike_features") -%}
        {%- set reveals = [feature.column] + (feature.related or []) -%}
        {%- if reveals | select("in", defining) | list | length == 0 -%}{%- do kept.append(feature.column) -%}{%- endif -%}
    {%- endfor -%}
    {{- return(kept) -}}
{%- endmacro %}

{#- A lookalike's definition version: its name, seed, cut and features. -#}
{% macro lookalike_version(definition, catalog) -%}
    {{- local_md5(definition.audience ~ "|" ~ (definition.seed | tojson) ~ "|" ~ definition.size ~ "|" ~ definition.min_score ~ "|" ~ tagwise.lookalike_model_features(definition, catalog) | join(",")) -}}
{%- endmacro %}

{#- What a lookalike's seed is, for reasons and the quality table: `segment champions`. -#}
{% macro lookalike_seed_name(definition) -%}
    {%- set seed = definition.seed -%}
    {{- return(("product " ~ seed.product) if seed.product else ("tag " ~ seed.tag) if seed.tag else ("audience " ~ seed.audience) if seed.audience else ("segment " ~ seed.segment)) -}}
{%- endmacro %}

{#- A number as a reason shows it: a whole number without decimals, else two; beyond what
    a decimal(18, 2) holds (amounts up to the contract's largest), the engine's own text. -#}
{% macro number_text(expression) -%}
    case
        when abs({{ expression }}) >= 1e15 then cast({{ expression }} as string)
        when {{ expression }} = floor({{ expression }}) then cast(cast({{ expression }} as bigint) as string)
        else cast(cast(round({{ expression }}, 2) as decimal(18, 2)) as string)
    end
{%- endmacro %}
