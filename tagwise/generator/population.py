"""Customer-level draws and the sources that hang off a customer rather than off a month.

Every draw here depends only on the seed, the chunk and `--start`, never on `--end`, so a
run with a later end date reproduces every earlier row exactly (prefix consistency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.contract import SOURCES_BY_NAME
from tagwise.generator import vocabulary as v
from tagwise.generator.arrow import ids, pick, table, texts, timestamps

DAY = 86_400
HOUR = 3_600
NEVER = np.iinfo(np.int64).max // 4
# Customers sign up from one year before --start to two years after it.
HISTORY_DAYS = 365
HORIZON_DAYS = 730


@dataclass(frozen=True)
class Window:
    """Seconds since the epoch, UTC. Rows dated in [since, end) are written."""

    start: int
    end: int
    since: int

    @property
    def horizon(self) -> int:
        return self.start + HORIZON_DAYS * DAY

    def keep(self, when: np.ndarray) -> np.ndarray:
        return (when >= self.since) & (when < self.end)


@dataclass
class Population:
    gid: np.ndarray
    persona: np.ndarray
    signup: np.ndarray
    active_from: np.ndarray
    lapse: np.ndarray
    first_order: np.ndarray
    country: np.ndarray
    fav_category: np.ndarray
    second_category: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    email: np.ndarray
    email_valid: np.ndarray
    # Asked for email marketing at signup; confirmed opt-ins can be mailed in
    # [mail_from, mail_until).
    opted_in: np.ndarray
    mail_from: np.ndarray
    mail_until: np.ndarray
    stop_kind: np.ndarray  # index into STOP_KINDS, -1 for none
    rng_seed: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.gid)

    def param(self, name: str) -> np.ndarray:
        return v.PERSONA[name][self.persona]

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng((*self.rng_seed, stream))


STOP_KINDS = np.array(["unsubscribe", "bounce_hard", "complaint"])
STOP_P = (0.06, 0.02, 0.01)


def customer_id(gid: np.ndarray) -> pa.Array:
    return ids("C", gid + 1)


def tuesday_at_or_before(seconds: np.ndarray) -> np.ndarray:
    """Start of the Tuesday on or before each moment (1970-01-01 was a Thursday)."""
    days = seconds // DAY
    return (days - (days + 3 - 1) % 7) * DAY


def draw_population(seed: int, chunk: int, size: int, offset: int, window: Window) -> Population:
    rng = np.random.default_rng((seed, 1, chunk))
    n = size
    gid = np.arange(offset, offset + n, dtype=np.int64)
    persona = rng.choice(len(v.PERSONA_NAMES), size=n, p=v.PERSONA_SHARES / v.PERSONA_SHARES.sum())

    first = window.start - HISTORY_DAYS * DAY
    signup = first + (rng.random(n) * (window.horizon - first)).astype(np.int64)
    is_new = persona == v.P["new_customer"]
    signup[is_new] = window.horizon - (rng.random(is_new.sum()) * 75 * DAY).astype(np.int64)
    active_from = np.maximum(signup, window.start)

    lapse = np.full(n, NEVER, dtype=np.int64)
    lapsing = persona == v.P["lapsing"]
    churns = (~lapsing) & (persona != v.P["loyal_high_spender"]) & (rng.random(n) < 0.12)
    lapse[lapsing] = active_from[lapsing] + (rng.uniform(30, 500, lapsing.sum()) * DAY).astype(
        np.int64
    )
    lapse[churns] = active_from[churns] + (rng.uniform(60, 700, churns.sum()) * DAY).astype(
        np.int64
    )

    # A customer who signs up inside the window buys soon after; a one-timer buys once.
    buys_first = (signup >= window.start) & (persona != v.P["pricing_browser"])
    first_order = np.full(n, NEVER, dtype=np.int64)
    delay = (rng.exponential(4.0, n) * DAY + rng.integers(600, 6 * HOUR, n)).astype(np.int64)
    first_order[buys_first] = signup[buys_first] + delay[buys_first]
    old_one_timer = (persona == v.P["one_timer"]) & ~buys_first
    first_order[old_one_timer] = window.start + (
        rng.uniform(0, HORIZON_DAYS, old_one_timer.sum()) * DAY
    ).astype(np.int64)

    shares = np.array([c[1] for c in v.COUNTRIES])
    country = rng.choice(len(v.COUNTRIES), size=n, p=shares / shares.sum())
    fav = rng.integers(0, len(v.CATEGORIES), n)
    second = (fav + rng.integers(1, len(v.CATEGORIES), n)) % len(v.CATEGORIES)

    first_names = pick(rng, v.FIRST_NAMES, n)
    last_names = pick(rng, v.LAST_NAMES, n)
    domains = pick(rng, v.EMAIL_DOMAINS, n)
    email = np.array(
        [
            f"{f}.{last}.{g + 1}@{d}".lower()
            for f, last, g, d in zip(first_names, last_names, gid, domains, strict=True)
        ],
        dtype=object,
    )
    roll = rng.random(n)
    email[roll < 0.02] = None  # no email given
    broken = (roll >= 0.02) & (roll < 0.03)
    if broken.any():  # np.char fails on empty arrays
        email[broken] = np.char.replace(email[broken].astype(str), "@", " at ").astype(object)
    email_valid = roll >= 0.03
    # Duplicate records: the same person signed up twice, typing the email differently.
    dup = np.flatnonzero((rng.random(n) < 0.02) & email_valid)
    dup = dup[dup > 0]
    originals = (rng.random(len(dup)) * dup).astype(np.int64)
    originals = originals[email_valid[originals]] if len(originals) else originals
    dup = dup[: len(originals)]
    if len(dup):
        email[dup] = np.where(
            rng.random(len(dup)) < 0.5,
            np.char.upper(email[originals].astype(str)),
            np.char.add(" ", email[originals].astype(str)),
        ).astype(object)

    optin = (rng.random(n) < v.PERSONA["optin_p"][persona]) & email_valid
    confirm = rng.random(n) < 0.88
    mail_from = np.where(optin & confirm, signup + rng.integers(300, 48 * HOUR, n), NEVER).astype(
        np.int64
    )
    stop_roll = rng.random(n)
    stop_kind = np.full(n, -1)
    edges = np.cumsum(STOP_P)
    for k, edge in enumerate(edges):
        stop_kind[(stop_kind < 0) & (stop_roll < edge)] = k
    stop_kind[mail_from == NEVER] = -1
    stop_at = np.full(n, NEVER, dtype=np.int64)
    has_stop = stop_kind >= 0
    # The stop follows a Tuesday newsletter the customer received.
    span = np.maximum(window.horizon - mail_from[has_stop], 7 * DAY)
    tuesday = tuesday_at_or_before(
        mail_from[has_stop] + 7 * DAY + (rng.random(has_stop.sum()) * span).astype(np.int64)
    )
    stop_at[has_stop] = tuesday + 9 * HOUR + rng.integers(HOUR, 72 * HOUR, has_stop.sum())
    mail_until = stop_at

    return Population(
        gid=gid,
        persona=persona,
        signup=signup,
        active_from=active_from,
        lapse=lapse,
        first_order=first_order,
        country=country,
        fav_category=fav,
        second_category=second,
        first_name=first_names,
        last_name=last_names,
        email=email,
        email_valid=email_valid,
        opted_in=optin,
        mail_from=mail_from,
        mail_until=mail_until,
        stop_kind=stop_kind,
        rng_seed=(seed, 2, chunk),
    )


# Every (region, city, postal prefix) flattened, with each country's slice of it.
_PLACES = [place for c in v.COUNTRIES for place in c[2]]
_PLACE_COUNT = np.array([len(c[2]) for c in v.COUNTRIES])
_PLACE_OFFSET = np.concatenate([[0], np.cumsum(_PLACE_COUNT)[:-1]])
PLACE_REGION = np.array([p[0] for p in _PLACES], dtype=object)
PLACE_CITY = np.array([p[1] for p in _PLACES], dtype=object)
PLACE_POSTAL = np.array([p[2] for p in _PLACES])
COUNTRY_CODES = np.array([c[0] for c in v.COUNTRIES], dtype=object)


def place_of(country: np.ndarray, roll: np.ndarray) -> np.ndarray:
    return _PLACE_OFFSET[country] + (roll * _PLACE_COUNT[country]).astype(np.int64)


def masked(values: pa.Array, hidden: np.ndarray) -> pa.Array:
    """The same values with null where `hidden` is True."""
    return pc.if_else(pa.array(hidden), pa.scalar(None, values.type), values)


# A US area code for each leading digit of a drawn number (1 to 9), so that each draw is
# one number, and every number is valid for the phonenumbers check ingestion runs.
_AREA_CODES = ("201", "202", "203", "205", "206", "207", "208", "209", "210")


def _phone_as_typed(number: int) -> str:
    """A US number (an area code, then a 5xx exchange) as people type it, the form chosen
    by its last digit (no random draw, so every other column stays as it was): mostly
    E.164, some with spaces or a 00 prefix (both normalisable), and one in ten without its
    country code, which the sms destination cannot use."""
    digits = str(number)
    area, exchange, line = _AREA_CODES[int(digits[0]) - 1], "5" + digits[1:3], digits[3:]
    form = number % 10
    if form == 7:
        return f"+1 {area} {exchange} {line}"
    if form == 8:
        return f"001{area}{exchange}{line}"
    if form == 9:
        return f"{area}-{exchange}-{line}"
    return f"+1{area}{exchange}{line}"


def customers(pop: Population, window: Window) -> pa.Table:
    rng = pop.rng(10)
    n = len(pop)
    place = place_of(pop.country, rng.random(n))
    postal = np.char.add(PLACE_POSTAL[place], rng.integers(100, 999, n).astype(str))

    age_days = (rng.uniform(18, 80, n) * 365.25 * DAY).astype(np.int64)
    birth = ((pop.signup - age_days) // DAY).astype("datetime64[D]")
    has_birth = rng.random(n) < 0.9

    b2b = pop.persona == v.P["b2b_buyer"]
    title_roll = rng.random(n)
    job_title = np.where(
        title_roll < 0.45,
        pick(rng, v.DECISION_MAKER_TITLES, n),
        np.where(
            title_roll < 0.85, pick(rng, v.INFLUENCER_TITLES, n), pick(rng, v.OTHER_TITLES, n)
        ),
    ).astype(object)
    has_title = b2b | (rng.random(n) < 0.2)
    company = np.char.add(
        np.char.add(pick(rng, v.COMPANY_WORDS, n), " "), pick(rng, v.COMPANY_SUFFIXES, n)
    ).astype(object)
    has_company = b2b & (rng.random(n) < 0.95)
    phone = np.array(
        [_phone_as_typed(number) for number in rng.integers(1_000_000, 9_999_999, n)], dtype=object
    )

    base = {
        "customer_id": customer_id(pop.gid),
        "email": texts(pop.email, pop.email != None),  # noqa: E711 (element-wise)
        "first_name": texts(pop.first_name),
        "last_name": texts(pop.last_name),
        "phone": texts(phone, rng.random(n) < 0.7),
        "birth_date": pa.array(birth, pa.date32(), mask=~has_birth),
        "gender": texts(pick(rng, v.GENDERS, n, v.GENDER_P)),
        "country": texts(COUNTRY_CODES[pop.country], rng.random(n) < 0.97),
        "region": texts(PLACE_REGION[place]),
        "city": texts(PLACE_CITY[place]),
        "postal_code": texts(postal.astype(object)),
        "signup_at": timestamps(pop.signup),
        "job_title": texts(job_title, has_title),
        "company_name": texts(company, has_company),
        "company_size": texts(pick(rng, v.COMPANY_SIZES, n), has_company),
        "industry": texts(pick(rng, v.INDUSTRIES, n), has_company),
        "updated_at": timestamps(pop.signup),
    }
    first_version = table(SOURCES_BY_NAME["customers"], base)

    # Some customers change later: they move, get promoted, or change their email.
    changes = np.flatnonzero(rng.random(n) < 0.12)
    later = pop.signup[changes] + (rng.uniform(20, 500, len(changes)) * DAY).astype(np.int64)
    second = first_version.take(changes)
    moved = place_of(pop.country[changes], rng.random(len(changes)))
    second = second.set_column(
        second.schema.get_field_index("city"), "city", texts(PLACE_CITY[moved])
    )
    promoted = np.where(
        b2b[changes],
        pick(rng, v.DECISION_MAKER_TITLES, len(changes)),
        second["job_title"].to_numpy(zero_copy_only=False),
    ).astype(object)
    second = second.set_column(
        second.schema.get_field_index("job_title"),
        "job_title",
        texts(promoted, b2b[changes] | has_title[changes]),
    )
    second = second.set_column(
        second.schema.get_field_index("updated_at"), "updated_at", timestamps(later)
    )
    rows = pa.concat_tables([first_version, second])
    when = np.concatenate([pop.signup, later])
    return rows.filter(window.keep(when))


def consent_events(pop: Population, window: Window) -> pa.Table:
    """Double opt-in (pending, then granted), direct grants, withdrawals, profiling objections."""
    rng = pop.rng(11)
    n = len(pop)
    slots: list[tuple[np.ndarray, str, str, str, str, np.ndarray]] = []
    optin_time = np.where(pop.mail_from < NEVER, pop.mail_from, NEVER)
    asked = pop.opted_in
    double = asked & (rng.random(n) < 0.8)
    slots.append((double, "email", "marketing", "pending", "double_opt_in", pop.signup))
    confirmed = asked & (pop.mail_from < NEVER)
    slots.append((confirmed & double, "email", "marketing", "granted", "double_opt_in", optin_time))
    slots.append((confirmed & ~double, "email", "marketing", "granted", "form", optin_time))
    # A quarter of link unsubscribes are also recorded by the consent platform.
    unsub = (pop.stop_kind == 0) & (rng.random(n) < 0.25)
    slots.append((unsub, "email", "marketing", "withdrawn", "unsubscribe_link", pop.mail_until))
    withdraw_at = pop.mail_from + (rng.uniform(10, 400, n) * DAY).astype(np.int64)
    withdraws = confirmed & (pop.stop_kind < 0) & (rng.random(n) < 0.04)
    slots.append((withdraws, "email", "marketing", "withdrawn", "preference_center", withdraw_at))
    profiling = rng.random(n) < 0.85
    slots.append((profiling, "email", "profiling", "granted", "form", pop.signup))
    objection_at = pop.active_from + (rng.uniform(5, 600, n) * DAY).astype(np.int64)
    objects = rng.random(n) < 0.06
    slots.append((objects, "email", "profiling", "withdrawn", "preference_center", objection_at))
    sms = rng.random(n) < 0.2
    slots.append((sms, "sms", "marketing", "granted", "import", pop.signup + HOUR))

    parts = []
    for k, (mask, channel, purpose, status, method, when) in enumerate(slots):
        idx = np.flatnonzero(mask)
        by_email = pop.email_valid[idx] & (rng.random(len(idx)) < 0.15)
        parts.append(
            {
                "ids": ids("K", pop.gid[idx] * 16 + k),
                "idx": idx,
                "by_email": by_email,
                "channel": channel,
                "purpose": purpose,
                "status": status,
                "method": method,
                "when": when[idx],
            }
        )
    return _person_events(pop, window, "consent_events", parts, "event_id", "occurred_at")


def _person_events(
    pop: Population,
    window: Window,
    source: str,
    parts: list[dict],
    id_column: str,
    time_column: str,
) -> pa.Table:
    """Events that identify a person by customer_id or, for some, by email only.

    Each part holds the rows of one kind: `idx` (people), `by_email`, `ids`, `when`, and a
    constant for every other column of the source.
    """
    idx = np.concatenate([p["idx"] for p in parts])
    by_email = np.concatenate([p["by_email"] for p in parts])
    when = np.concatenate([p["when"] for p in parts])
    columns = {
        id_column: pa.concat_arrays([p["ids"] for p in parts]),
        "customer_id": masked(customer_id(pop.gid[idx]), by_email),
        "email": texts(pop.email[idx], by_email),
        time_column: timestamps(when),
    }
    spec = SOURCES_BY_NAME[source]
    for name in spec.column_names:
        if name not in columns:
            constant = [np.full(len(p["idx"]), p[name], dtype=object) for p in parts]
            columns[name] = texts(np.concatenate(constant))
    rows = table(spec, {c: columns[c] for c in spec.column_names})
    return rows.filter(window.keep(when))


def privacy_requests(pop: Population, window: Window) -> pa.Table:
    rng = pop.rng(12)
    n = len(pop)
    when = pop.active_from + (rng.uniform(1, 700, n) * DAY).astype(np.int64)
    parts = []
    for k, (kind, share) in enumerate((("erasure", 0.004), ("access", 0.006))):
        idx = np.flatnonzero(rng.random(n) < share)
        parts.append(
            {
                "ids": ids("PR", pop.gid[idx] * 4 + k),
                "idx": idx,
                "by_email": pop.email_valid[idx] & (rng.random(len(idx)) < 0.15),
                "request_type": kind,
                "when": when[idx] + k * HOUR,
            }
        )
    return _person_events(pop, window, "privacy_requests", parts, "request_id", "received_at")


def survey_responses(pop: Population, window: Window) -> pa.Table:
    rng = pop.rng(13)
    n = len(pop)
    eco = pop.persona == v.P["eco_conscious"]
    answered = rng.random(n) < np.where(eco, 0.7, 0.25)
    # Some answer again later; the latest answer is the one that counts.
    again = answered & (rng.random(n) < 0.1)
    first_at = pop.active_from + (rng.uniform(1, 400, n) * DAY).astype(np.int64)
    second_at = first_at + (rng.uniform(30, 300, n) * DAY).astype(np.int64)
    yes_p = np.where(eco, 0.85, 0.1)
    rows, when = [], []
    for k, (mask, at) in enumerate(((answered, first_at), (again, second_at))):
        idx = np.flatnonzero(mask)
        answer = np.where(rng.random(len(idx)) < yes_p[idx], "yes", "no").astype(object)
        for q, (question, values) in enumerate(
            (
                ("values_sustainability", answer),
                ("preferred_channel", pick(rng, np.array(["email", "sms", "none"]), len(idx))),
            )
        ):
            rows.append(
                table(
                    SOURCES_BY_NAME["survey_responses"],
                    {
                        "response_id": ids("SR", pop.gid[idx] * 8 + k * 2 + q),
                        "customer_id": customer_id(pop.gid[idx]),
                        "question_key": texts(np.full(len(idx), question, dtype=object)),
                        "answer": texts(values.astype(object)),
                        "submitted_at": timestamps(at[idx] + q * 60),
                    },
                )
            )
            when.append(at[idx] + q * 60)
    return pa.concat_tables(rows).filter(window.keep(np.concatenate(when)))


def manual_tags(pop: Population, window: Window) -> pa.Table:
    """What sales and support type: synonyms, odd spelling, unknown tags, overrides and re-adds."""
    rng = pop.rng(14)
    n = len(pop)
    idx = np.flatnonzero(rng.random(n) < 0.04)
    count = len(idx)
    actor = rng.integers(0, len(v.ACTORS), count)
    at = pop.active_from[idx] + (rng.uniform(1, 650, count) * DAY).astype(np.int64)
    is_override = rng.random(count) < 0.25
    tag = np.where(
        is_override, pick(rng, v.OVERRIDE_TAG_TEXTS, count), pick(rng, v.MANUAL_TAG_TEXTS, count)
    )
    action = np.where(is_override, "remove", "add")
    # A third of overrides are lifted again by a later add.
    lifted = is_override & (rng.random(count) < 0.33)
    sel = np.concatenate([np.arange(count), np.flatnonzero(lifted)])
    when = np.concatenate(
        [at, at[lifted] + (rng.uniform(5, 90, lifted.sum()) * DAY).astype(np.int64)]
    )
    actions = np.concatenate([action, np.full(lifted.sum(), "add")])
    notes = np.where(actions == "remove", "rule does not fit this account", "")
    rows = table(
        SOURCES_BY_NAME["manual_tags"],
        {
            "customer_id": customer_id(pop.gid[idx[sel]]),
            "tag": texts(tag[sel].astype(object)),
            "action": texts(actions.astype(object)),
            "actor": texts(v.ACTORS[actor[sel]].astype(object)),
            "team": texts(v.ACTOR_TEAMS[actor[sel]].astype(object)),
            "created_at": timestamps(when),
            "note": texts(notes.astype(object), notes != ""),
        },
    )
    return rows.filter(window.keep(when))
