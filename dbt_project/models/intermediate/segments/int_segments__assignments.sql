{#- The definitions are the segment catalog in segment_catalog.yml. -#}
{{ tagwise.segment_assignments(tagwise.segment_catalog(), ref("int_segments__inputs")) }}
