"""The sxs service: the pairwise comparison API, its job store, and the `sxs` CLI."""
