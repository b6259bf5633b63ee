"""What a run will do before it runs: the units the store lacks, their tokens, price and time."""
