{#- The rules are the catalog in tag_catalog.yml. dbt unit tests render models without
    their meta, so tests/test_tag_rules.py builds this model against crafted inputs. -#}
{{ tagwise.tag_rule_matches(
    model.config.meta.get("rules", []), ref("int_tags__inputs"), ref("int_model__fit_status")
) }}
