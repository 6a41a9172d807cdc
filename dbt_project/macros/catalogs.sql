{#-
    The three catalogs live in the meta of the model they define. Models read them from the
    graph through these macros: empty while dbt parses (no ref may depend on them), and
    empty in a unit test, which has no graph, so each unit test gives the entries it tests
    with `overrides: macros:` and a team's catalog changes none of them.
-#}

{% macro model_meta(model_name) -%}
    {%- if execute and graph.nodes is defined -%}
        {%- for node in graph.nodes.values() if node.resource_type == "model" and node.name == model_name -%}
            {{- return(node.config.meta) -}}
        {%- endfor -%}
    {%- endif -%}
    {{- return({}) -}}
{%- endmacro %}

{#- The documented columns of a model, which catalog conditions may name. -#}
{% macro model_columns(model_name) -%}
    {%- if execute and graph.nodes is defined -%}
        {%- for node in graph.nodes.values() if node.resource_type == "model" and node.name == model_name -%}
            {{- return(node.columns.keys() | list) -}}
        {%- endfor -%}
    {%- endif -%}
    {{- return([]) -}}
{%- endmacro %}

{% macro destination_catalog() -%}
    {{- return(tagwise.model_meta("destination_eligibility").get("destinations") or []) -}}
{%- endmacro %}

{% macro segment_catalog() -%}
    {%- set meta = tagwise.model_meta("int_segments__assignments") -%}
    {{- return({"primary": meta.get("primary") or [], "audiences": meta.get("audiences") or [], "generated": meta.get("generated") or [], "lookalikes": meta.get("lookalikes") or []}) -}}
{%- endmacro %}

{% macro tag_rules() -%}
    {{- return(tagwise.model_meta("int_tags__rule_matches").get("rules") or []) -}}
{%- endmacro %}

{% macro rule_input_columns() -%}
    {{- return(tagwise.model_columns("int_tags__inputs")) -}}
{%- endmacro %}

{#- The rule-input columns a condition names (in the order it names them) and the tags its
    has_tag() calls name. -#}
{% macro condition_columns(condition) -%}
    {%- set documented = tagwise.rule_input_columns() -%}
    {%- set without_tags = modules.re.sub(var("has_tag_pattern"), " ", condition | string) -%}
    {%- set without_literals = modules.re.sub("'[^']*'", " ", without_tags) -%}
    {%- set found = [] -%}
    {%- for name in modules.re.findall("[a-z_][a-z0-9_]*", without_literals) -%}
        {%- if name in documented and name not in found -%}{%- do found.append(name) -%}{%- endif -%}
    {%- endfor -%}
    {{- return(found) -}}
{%- endmacro %}

{% macro condition_tags(condition) -%}
    {%- set found = [] -%}
    {%- for tag in modules.re.findall(var("has_tag_pattern"), condition | string) -%}
        {%- if tag not in found -%}{%- do found.append(tag) -%}{%- endif -%}
    {%- endfor -%}
    {{- return(found) -}}
{%- endmacro %}

{#- Every definition of the catalogs, in catalog order, as catalog_definitions publishes
    it: type, name, description (none: the taxonomy's), condition and version, the
    version being the one the tag and membership tables record. -#}
{% macro catalog_definition_rows() -%}
    {%- set catalog = tagwise.segment_catalog() -%}
    {%- set rows = [] -%}
    {%- for rule in tagwise.tag_rules() -%}
        {%- do rows.append({
            "type": "tag", "name": rule.tag, "description": none, "condition": rule.when,
            "version": tagwise.tag_rule_version(rule)}) -%}
    {%- endfor -%}
    {%- for definition in catalog.primary -%}
        {%- do rows.append({
            "type": "primary segment", "name": definition.segment,
            "description": definition.description, "condition": definition.when,
            "version": tagwise.segment_version(definition, loop.index)}) -%}
    {%- endfor -%}
    {%- for definition in catalog.audiences -%}
        {%- do rows.append({
            "type": "audience", "name": definition.audience,
            "description": definition.description, "condition": definition.when,
            "version": tagwise.segment_version(definition)}) -%}
    {%- endfor -%}
    {%- for definition in catalog.generated -%}
        {%- do rows.append({
            "type": "generated audiences", "name": definition.prefix,
            "description": definition.description,
            "condition": "one audience per value of " ~ definition.column,
            "version": tagwise.segment_version(definition)}) -%}
    {%- endfor -%}
    {%- for definition in catalog.get("lookalikes", []) -%}
        {%- do rows.append({
            "type": "lookalike", "name": definition.audience,
            "description": definition.description,
            "condition": "like " ~ tagwise.lookalike_seed_name(definition) ~ ": "
                ~ (("the " ~ definition.size ~ " most similar") if definition.size else ("score at least " ~ definition.min_score)),
            "version": tagwise.lookalike_version(definition, catalog)}) -%}
    {%- endfor -%}
    {%- for destination in tagwise.destination_catalog() -%}
        {%- set consent = [] -%}
        {%- for channel, purpose in destination.consent -%}
            {%- do consent.append(channel ~ " " ~ purpose) -%}
        {%- endfor -%}
        {%- set selects = [] -%}
        {%- for part, names in (destination.selects or {}).items() -%}
            {%- do selects.append(part ~ ": " ~ (names | join(", "))) -%}
        {%- endfor -%}
        {%- do rows.append({
            "type": "destination", "name": destination.destination,
            "description": destination.description,
            "condition": destination.kind ~ "; consent: " ~ (consent | join(", "))
                ~ "; selects " ~ (selects | join("; ")),
            "version": local_md5(tojson(destination))}) -%}
    {%- endfor -%}
    {{- return(rows) -}}
{%- endmacro %}
