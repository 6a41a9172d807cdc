"""Predictive features (SPEC 6): BG/NBD for repeat purchasing and Gamma-Gamma for value.

Both are fitted by maximum likelihood with numpy and scipy; nothing else is needed at run
time. Time is measured in weeks (days / 7) throughout, as in Fader, Hardie & Lee (2005).
"""
