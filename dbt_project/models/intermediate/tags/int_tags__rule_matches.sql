{{ tagwise.tag_rule_matches(model.config.meta.get("rules", []), ref("int_tags__inputs")) }}
