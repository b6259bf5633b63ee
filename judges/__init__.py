"""The scoring side of sxs: the side-by-side (SxS) judging protocol of Shaham et al. (2024) and
the cross-lingual consistency metrics of multiple-choice answers.

SxS: prompts, verdict parsing, the order swap, discounted-tie scoring, statistics, the judge
backends and the judgment cache. Multiple choice: `mcq_metrics` (accuracy, CrossIn's
Consistency_s and AC3, CLiKA's RA, en-CO, XRR), pure functions of the answers. Imports no
torch and nothing from `service`, `generators` or `training`.
"""
