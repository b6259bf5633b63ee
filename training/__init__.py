"""Training side of sxs: parallel datasets, language mixtures and their families, translation of
a set, LoRA fine-tuning, the tiny test model; named errors in `training.errors`."""
