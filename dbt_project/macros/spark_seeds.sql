{#- Seeds on Spark. dbt-spark 1.11's session connection binds an empty CSV cell (None)
    as the text 'None'; the rows are written as literals instead, empty cells as null. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model["config"].get("column_types", {}) -%}
    {%- set types = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(column_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set rows = [] -%}
    {%- for row in agate_table.rows -%}
        {%- set cells = [] -%}
        {%- for value in row -%}
            {%- set text = "null" if value is none
                else "'" ~ (value | string | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'" -%}
            {%- do cells.append("cast(" ~ text ~ " as " ~ types[loop.index0] ~ ")") -%}
        {%- endfor -%}
        {%- do rows.append("(" ~ cells | join(", ") ~ ")") -%}
    {%- endfor -%}
    {%- set sql = "insert into " ~ this.render() ~ " values " ~ rows | join(", ") -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {{ return(sql) }}
{% endmacro %}
