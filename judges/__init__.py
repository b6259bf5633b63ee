"""The side-by-side (SxS) judging protocol of Shaham et al. (2024).

Prompts, verdict parsing, the order swap, discounted-tie scoring, statistics and the judge
backends. Imports no torch and nothing from `service`, `generators` or `training`.
"""
