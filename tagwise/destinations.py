"""The destinations tagwise sends audiences to.

A module of its own, with no imports, so that the command line can offer the names
without loading the export machinery (or reading a setting before `--project`).
"""

# destination -> (its audience: a dbt model, key column, columns sent besides the key)
DESTINATIONS = {
    "email": (
        "email_audience",
        "email",
        ("first_name", "last_name", "primary_segment", "audiences", "tags", "updated_on"),
    ),
}
