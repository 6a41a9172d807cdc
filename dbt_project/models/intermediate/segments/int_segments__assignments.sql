{#- The definitions are the segment catalog in segment_catalog.yml. -#}
{{ tagwise.segment_assignments(model.config.meta, ref("int_segments__inputs")) }}
