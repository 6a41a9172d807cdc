"""The destinations tagwise sends audiences to.

A module of its own, with no imports beyond the standard library, so that the command line
can offer the names without loading the export machinery (or reading a setting before
`--project`).
"""

from typing import NamedTuple


class Destination(NamedTuple):
    audience: str  # the dbt model holding one row per eligible person
    key: str  # the column that names a person at the destination
    fields: tuple[str, ...]  # the columns sent besides the key
    # email: files a platform's list import reads (exports/<name>/). webhook: the same
    # files, and the change rows POSTed in batches to TAGWISE_WEBHOOK_URL (tagwise.webhook).
    kind: str = "email"


DESTINATIONS = {
    "email": Destination(
        "email_audience",
        "email",
        ("first_name", "last_name", "primary_segment", "audiences", "tags", "updated_on"),
    ),
    # A CRM or marketing tool fed by HTTP: the email audience, without the names.
    "webhook": Destination(
        "email_audience",
        "email",
        ("primary_segment", "audiences", "tags", "updated_on"),
        kind="webhook",
    ),
}
