"""Predicted interests (SPEC 3.10): which categories a customer will buy in the next H days.

A gradient-boosted model (LightGBM) ranks candidate (customer, category) pairs. It is
fitted only on what was known by the cutoff it predicts from: features as of a cutoff C,
labels in (C, C + H]. Its quality is measured the same way one window later and set
beside two baselines a user can recompute by hand: category popularity in the last 90
days, and the customer's own category history.

- `features`: the purchases it reads and the candidate pairs with their features;
- `fitting`: the fit, the predictions and each prediction's drivers;
- `evaluate`: the quality against the baselines, and its HTML report.

LightGBM rather than scikit-learn's HistGradientBoosting: it computes each prediction's
per-feature contributions itself (SHAP values, `pred_contrib`), which the drivers come
from, and it installs as one wheel without scikit-learn's dependencies.
"""
