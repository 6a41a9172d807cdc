"""Fixed vocabularies and persona parameters of the synthetic retailer.

Personas are hidden: they shape behaviour but never appear in the output, so the
pipeline has to discover them from data, as it would in production.
"""

from __future__ import annotations

import numpy as np

# name, share of the population, and behaviour parameters, one row per persona.
# order_rate and web_rate are events per active day; open/click are per delivered email.
PERSONA_COLUMNS = (
    "name",
    "share",
    "order_rate",
    "web_rate",
    "ticket_rate",
    "open_p",
    "click_p",
    "discount_p",
    "eco_p",
    "premium_p",
    "budget_p",
    "cart_p",
    "pricing_p",
    "optin_p",
)
PERSONAS = (
    # name                 share  order   web    ticket  open  click disc  eco   prem  budg  cart  price optin
    ("casual",              0.27, 0.014, 0.020, 0.0006, 0.30, 0.15, 0.12, 0.10, 0.15, 0.30, 0.10, 0.05, 0.75),
    ("loyal_high_spender",  0.07, 0.055, 0.030, 0.0008, 0.95, 0.40, 0.05, 0.10, 0.55, 0.05, 0.15, 0.05, 0.97),
    ("eco_conscious",       0.08, 0.018, 0.020, 0.0006, 0.45, 0.20, 0.10, 0.75, 0.20, 0.20, 0.10, 0.05, 0.80),
    ("bargain_hunter",      0.09, 0.022, 0.025, 0.0006, 0.40, 0.25, 0.80, 0.05, 0.02, 0.75, 0.15, 0.08, 0.85),
    ("pricing_browser",     0.05, 0.000, 0.090, 0.0002, 0.25, 0.10, 0.00, 0.10, 0.20, 0.30, 0.05, 0.55, 0.60),
    ("lapsing",             0.11, 0.030, 0.015, 0.0008, 0.20, 0.08, 0.15, 0.10, 0.15, 0.30, 0.10, 0.05, 0.70),
    ("one_timer",           0.08, 0.000, 0.008, 0.0004, 0.15, 0.05, 0.20, 0.10, 0.10, 0.40, 0.05, 0.05, 0.60),
    ("b2b_buyer",           0.07, 0.024, 0.025, 0.0010, 0.35, 0.20, 0.10, 0.10, 0.35, 0.15, 0.10, 0.20, 0.80),
    ("email_inactive",      0.06, 0.012, 0.012, 0.0004, 0.00, 0.00, 0.12, 0.10, 0.15, 0.30, 0.10, 0.05, 0.90),
    ("cart_abandoner",      0.04, 0.008, 0.120, 0.0004, 0.30, 0.15, 0.15, 0.10, 0.15, 0.30, 0.75, 0.05, 0.75),
    ("support_heavy",       0.03, 0.016, 0.020, 0.0450, 0.30, 0.10, 0.12, 0.10, 0.15, 0.30, 0.10, 0.05, 0.75),
    ("new_customer",        0.05, 0.030, 0.030, 0.0006, 0.50, 0.20, 0.15, 0.15, 0.20, 0.25, 0.15, 0.05, 0.85),
)  # fmt: skip
PERSONA_NAMES = tuple(p[0] for p in PERSONAS)
PERSONA_SHARES = np.array([p[1] for p in PERSONAS])
PERSONA = {
    col: np.array([p[i] for p in PERSONAS], dtype=float)
    for i, col in enumerate(PERSONA_COLUMNS)
    if i >= 2
}
P = {name: i for i, name in enumerate(PERSONA_NAMES)}

# Orders rise towards the holidays; index 0 is January.
SEASONALITY = np.array([0.90, 0.85, 0.95, 1.00, 1.00, 0.95, 0.90, 0.95, 1.00, 1.05, 1.35, 1.55])

CATEGORIES = (
    "books-mystery",
    "books-scifi",
    "home-kitchen",
    "home-garden",
    "outdoor-camping",
    "fashion-women",
    "fashion-men",
    "beauty-skincare",
    "electronics-audio",
    "toys-games",
    "sports-fitness",
    "food-coffee",
)
TIERS = ("budget", "mid", "premium")
# Price range per tier in cents.
TIER_PRICE_CENTS = ((600, 2500), (2500, 7000), (7000, 25000))
PRODUCTS_PER_CELL = 3  # per (category, tier, eco) cell

FIRST_NAMES = np.array(
    "Anna Ben Chloe David Emma Felix Grace Hugo Ines Jack Kira Liam Maya Noah Olivia Pablo "
    "Quinn Rosa Sam Tara Umar Vera Will Xenia Yusuf Zoe Aiko Bruno Carla Dmitri Elena Farid "
    "Greta Hana Ivan Julia Kofi Lena Mateo Nadia Omar Priya Rafael Sofia Thabo Uma Viktor Wen "
    "Yara Zain".split()
)
LAST_NAMES = np.array(
    "Smith Jones Garcia Muller Rossi Dubois Silva Kim Tanaka Novak Kowalski Jensen Nguyen "
    "Brown Taylor Wilson Moreau Bianchi Fischer Costa Santos Ahmed Khan Patel Okafor Mensah "
    "Larsen Berg Ivanova Petrov Lopez Martin Walker Young Hall Allen Wright Scott Green Baker "
    "Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner".split()
)
GENDERS = np.array(["female", "male", "non-binary", ""])
GENDER_P = np.array([0.47, 0.45, 0.02, 0.06])
EMAIL_DOMAINS = np.array(["example.com", "mail.test", "inbox.test", "post.example"])

# country, share, and (region, city, postal prefix) choices.
COUNTRIES = (
    ("US", 0.26, (("CA", "San Francisco", "941"), ("NY", "New York", "100"), ("TX", "Austin", "787"))),
    ("GB", 0.11, (("England", "London", "EC"), ("Scotland", "Edinburgh", "EH"))),
    ("DE", 0.09, (("Berlin", "Berlin", "10"), ("Bavaria", "Munich", "80"))),
    ("FR", 0.07, (("Ile-de-France", "Paris", "75"), ("Occitanie", "Toulouse", "31"))),
    ("NL", 0.04, (("North Holland", "Amsterdam", "10"),)),
    ("ES", 0.04, (("Madrid", "Madrid", "28"), ("Catalonia", "Barcelona", "08"))),
    ("IT", 0.04, (("Lazio", "Rome", "00"), ("Lombardy", "Milan", "20"))),
    ("SE", 0.02, (("Stockholm", "Stockholm", "11"),)),
    ("CA", 0.06, (("Ontario", "Toronto", "M5"), ("Quebec", "Montreal", "H2"))),
    ("AU", 0.08, (("NSW", "Sydney", "20"), ("VIC", "Melbourne", "30"))),
    ("NZ", 0.03, (("Auckland", "Auckland", "10"),)),
    ("ZA", 0.03, (("Gauteng", "Johannesburg", "20"), ("Western Cape", "Cape Town", "80"))),
    ("BR", 0.06, (("SP", "Sao Paulo", "01"), ("RJ", "Rio de Janeiro", "20"))),
    ("AR", 0.03, (("Buenos Aires", "Buenos Aires", "C1"),)),
    ("CL", 0.02, (("Santiago", "Santiago", "83"),)),
    ("UY", 0.02, (("Montevideo", "Montevideo", "11"),)),
)  # fmt: skip
# Offset of local store time from UTC, in hours, used to write store orders with an offset.
COUNTRY_UTC_OFFSET = {
    "US": -5, "GB": 0, "DE": 1, "FR": 1, "NL": 1, "ES": 1, "IT": 1, "SE": 1, "CA": -5,
    "AU": 10, "NZ": 12, "ZA": 2, "BR": -3, "AR": -3, "CL": -4, "UY": -3,
}  # fmt: skip

DECISION_MAKER_TITLES = np.array(
    ["CEO", "Founder", "VP Marketing", "Director of Sales", "Head of Operations", "Owner",
     "Vice President, Finance", "CTO", "Co-Founder & CFO", "President"]
)  # fmt: skip
INFLUENCER_TITLES = np.array(
    ["Marketing Manager", "Data Analyst", "Software Engineer", "Project Coordinator",
     "Team Lead", "Procurement Specialist", "Operations Manager"]
)  # fmt: skip
# Titles that look close to the rule words but must match neither b2b rule.
OTHER_TITLES = np.array(
    ["Consultant", "Leadership Coach", "Assistant", "Teacher", "Nurse", "Directorate Clerk"]
)
COMPANY_WORDS = np.array(
    "Acme Globex Initech Umbrella Stark Wayne Hooli Vandelay Soylent Tyrell Cyberdyne Wonka "
    "Oscorp Gringotts Monarch Aperture".split()
)
COMPANY_SUFFIXES = np.array(["Ltd", "GmbH", "Inc", "BV", "SA", "Pty Ltd", "LLC"])
COMPANY_SIZES = np.array(["1-10", "11-50", "51-200", "201-1000", "1000+"])
INDUSTRIES = np.array(["retail", "software", "manufacturing", "hospitality", "education", "health"])

# Free text typed by sales and support, as people type it: synonyms, odd case and spacing,
# and a few tags that are not in the vocabulary at all.
MANUAL_TAG_TEXTS = np.array(
    ["VIP", " vip ", "Premium", "premium-customer", "top customer", "Top_Customer", "High Value",
     "loyal", "Loyal Customer", "eco", "Green", "eco-conscious", "price_sensitive", "at-risk",
     "Decision Maker", "key account", "Big Spender", "follow up asap", "do not call"]
)  # fmt: skip
# Tags that a person removes to override a rule.
OVERRIDE_TAG_TEXTS = np.array(["at-risk", "price-sensitive", "high-value", "inactive"])
ACTORS = np.array(["anna.k", "bob.m", "carla.s", "dev.p", "erin.w", "fred.o"])
ACTOR_TEAMS = np.array(["sales", "sales", "support", "support", "marketing", "other"])

SUPPORT_TOPICS = np.array(["delivery", "refund", "product question", "account", "billing", ""])
CAMPAIGN_AUDIENCES = (
    "win-back",
    "sustainability-launch",
    "cart-recovery",
    "pricing-nudge",
    "champions",
    "new-customers",
)
