"""The batch path: a recipe's generations and judge calls as Ray Data pipelines.

`units` lists the work a store does not hold yet, keyed exactly as the generation and judgment
caches key it; `pipeline` runs units on Ray (`ray.data.llm`); `driver` connects to Ray, runs
the passes and writes every answer into the store as it arrives (the driver is its only
writer). Afterwards the comparison service finds every cell's work stored: `sxs matrix` makes
no generation or judge call. Ray is imported by `pipeline` alone (the `ray` extra).
"""
