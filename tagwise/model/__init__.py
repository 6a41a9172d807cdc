"""Predictive features (SPEC 6): BG/NBD for repeat purchasing and Gamma-Gamma for value.

Both are fitted by maximum likelihood with numpy and scipy; nothing else is needed at run
time. Time is measured in weeks (days / 7) throughout, as in Fader, Hardie & Lee (2005).
"""

# What a fit says about the whole population, recorded beside its parameters. The release
# gate compares these between fits, not the parameters: Gamma-Gamma's p and gamma are
# barely identified on their own (consecutive daily fits of one sample moved p by a factor
# of 800,000 and gamma the other way) while their ratio to q - 1, the mean order value,
# holds.
POPULATION_MEANS = ("mean_weekly_purchase_rate", "mean_dropout_probability", "mean_order_value")
