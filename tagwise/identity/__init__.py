"""Identity resolution's Python half (SPEC 3.1): the probabilistic rule of the identity
catalog (matching). The deterministic rules, blocklist, limits and clusters are dbt's
(models/restricted/identity)."""
