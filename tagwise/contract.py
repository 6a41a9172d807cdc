"""The raw-input contract of SPEC section 2, declared once.

Ingestion builds its validation SQL from these declarations, the generator writes files
that follow them, and tests read them to craft broken rows. Adding a column or an enum
value here is the only change a new input needs on the Python side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    ENUM = "enum"
    COUNTRY = "country"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = True
    values: tuple[str, ...] = ()
    # Smallest allowed value for numbers, and whether the bound itself is allowed.
    minimum: float | None = None
    minimum_inclusive: bool = True
    # Largest allowed value: what keeps every sum the models take representable.
    maximum: float | None = None
    # Value that stands in for an empty optional cell.
    default: str | None = None
    # Decimals a DECIMAL column holds: amounts have 2; a unit price has more, so that
    # quantity x unit price can equal a line's total to the cent at large quantities
    # (The Complete Journey sells fuel by the 1/1000 gallon: 89,638 units for $30).
    scale: int = 2


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    # Columns whose values identify a row; empty means only exact duplicates collapse.
    key: tuple[str, ...]
    required: bool = False
    # At least one of these columns must be present (people identified by id or email).
    one_of: tuple[str, ...] = ()
    description: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _text(name: str, required: bool = True) -> Column:
    return Column(name, Kind.TEXT, required)


def _optional(name: str) -> Column:
    return Column(name, Kind.TEXT, required=False)


def _ts(name: str) -> Column:
    return Column(name, Kind.TIMESTAMP)


def _enum(name: str, values: tuple[str, ...], required: bool = True) -> Column:
    return Column(name, Kind.ENUM, required, values)


UNIT_PRICE_SCALE = 8
ORDER_STATUSES = ("completed", "refunded", "cancelled")
ORDER_CHANNELS = ("web", "store", "app")
PRICE_TIERS = ("budget", "mid", "premium")
EMAIL_EVENT_TYPES = (
    "delivered",
    "open",
    "click",
    "bounce_hard",
    "bounce_soft",
    "complaint",
    "unsubscribe",
)
WEB_EVENT_TYPES = ("page_view", "add_to_cart", "checkout_start")
PAGE_TYPES = ("home", "product", "pricing", "cart", "checkout", "other")
CONSENT_CHANNELS = ("email", "sms", "phone")
CONSENT_PURPOSES = ("marketing", "profiling")
CONSENT_STATUSES = ("pending", "granted", "withdrawn")
CONSENT_METHODS = (
    "double_opt_in",
    "form",
    "import",
    "preference_center",
    "unsubscribe_link",
    "support",
)
PRIVACY_REQUEST_TYPES = ("erasure", "access")
MANUAL_TAG_ACTIONS = ("add", "remove")
TEAMS = ("sales", "support", "marketing", "other")

SOURCES: tuple[Source, ...] = (
    Source(
        "customers",
        (
            _text("customer_id"),
            _optional("email"),
            _optional("first_name"),
            _optional("last_name"),
            _optional("phone"),
            Column("birth_date", Kind.DATE, required=False),
            _optional("gender"),
            Column("country", Kind.COUNTRY, required=False),
            _optional("region"),
            _optional("city"),
            _optional("postal_code"),
            _ts("signup_at"),
            _optional("job_title"),
            _optional("company_name"),
            _optional("company_size"),
            _optional("industry"),
            _ts("updated_at"),
        ),
        key=("customer_id", "updated_at"),
        required=True,
        description="Customer records; a new updated_at for a known id is a new version.",
    ),
    Source(
        "products",
        (
            _text("product_id"),
            _text("name"),
            _text("category"),
            _enum("price_tier", PRICE_TIERS),
            Column("is_eco", Kind.BOOLEAN),
        ),
        key=("product_id",),
        description="Product catalog.",
    ),
    Source(
        "orders",
        (
            _text("order_id"),
            _text("customer_id"),
            _ts("ordered_at"),
            _enum("status", ORDER_STATUSES),
            _enum("channel", ORDER_CHANNELS, required=False),
            Column("discount_amount", Kind.DECIMAL, required=False, minimum=0, default="0"),
        ),
        key=("order_id",),
        required=True,
        description="Order headers.",
    ),
    Source(
        "order_lines",
        (
            _text("order_id"),
            Column("line_no", Kind.INTEGER),
            _text("product_id"),
            # A line's amount (quantity x unit price) and every sum of them stay far inside
            # the models' decimal(38, 2).
            Column("quantity", Kind.INTEGER, minimum=0, minimum_inclusive=False, maximum=1e9),
            Column("unit_price", Kind.DECIMAL, minimum=0, scale=UNIT_PRICE_SCALE),
        ),
        key=("order_id", "line_no"),
        required=True,
        description="Order lines.",
    ),
    Source(
        "email_campaigns",
        (_text("campaign_id"), _text("name"), _ts("sent_at"), _optional("audience")),
        key=("campaign_id",),
        description="Email campaigns; audience names the segment or audience targeted.",
    ),
    Source(
        "email_events",
        (
            _text("event_id"),
            _text("campaign_id"),
            _optional("customer_id"),
            _optional("email"),
            _enum("event_type", EMAIL_EVENT_TYPES),
            _ts("occurred_at"),
        ),
        key=("event_id",),
        one_of=("customer_id", "email"),
        description="Email delivery and engagement events.",
    ),
    Source(
        "web_events",
        (
            _text("event_id"),
            _text("session_id"),
            _optional("customer_id"),
            _enum("event_type", WEB_EVENT_TYPES),
            _enum("page_type", PAGE_TYPES, required=False),
            _optional("product_id"),
            _ts("occurred_at"),
        ),
        key=("event_id",),
        description="Web analytics events.",
    ),
    Source(
        "consent_events",
        (
            _text("event_id"),
            _optional("customer_id"),
            _optional("email"),
            _enum("channel", CONSENT_CHANNELS),
            _enum("purpose", CONSENT_PURPOSES),
            _enum("status", CONSENT_STATUSES),
            _enum("method", CONSENT_METHODS, required=False),
            _ts("occurred_at"),
        ),
        key=("event_id",),
        one_of=("customer_id", "email"),
        description="Consent changes per channel and purpose.",
    ),
    Source(
        "privacy_requests",
        (
            _text("request_id"),
            _optional("customer_id"),
            _optional("email"),
            _enum("request_type", PRIVACY_REQUEST_TYPES),
            _ts("received_at"),
        ),
        key=("request_id",),
        one_of=("customer_id", "email"),
        description="Erasure and access requests.",
    ),
    Source(
        "manual_tags",
        (
            _text("customer_id"),
            _text("tag"),
            _enum("action", MANUAL_TAG_ACTIONS),
            _text("actor"),
            _enum("team", TEAMS),
            _ts("created_at"),
            _optional("note"),
        ),
        key=(),
        description="Tags added or removed by people; every row is an action.",
    ),
    Source(
        "support_tickets",
        (_text("ticket_id"), _text("customer_id"), _ts("created_at"), _optional("topic")),
        key=("ticket_id",),
        description="Support tickets.",
    ),
    Source(
        "survey_responses",
        (
            _text("response_id"),
            _text("customer_id"),
            _text("question_key"),
            _text("answer"),
            _ts("submitted_at"),
        ),
        key=("response_id",),
        description="Survey answers.",
    ),
)

SOURCES_BY_NAME: dict[str, Source] = {s.name: s for s in SOURCES}
REQUIRED_SOURCES: tuple[str, ...] = tuple(s.name for s in SOURCES if s.required)

# Landing files come as CSV or Parquet (SPEC 2); the generated sample covers these days.
FORMATS: tuple[str, ...] = ("csv", "parquet")
DEFAULT_START = date(2024, 7, 1)
DEFAULT_END = date(2026, 6, 30)
# The years from DEFAULT_START to DEFAULT_END, the history a benchmark size gets by default.
DEFAULT_HISTORY_YEARS = 2
