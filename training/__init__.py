"""Training side of sxs: parallel datasets, language mixtures, LoRA fine-tuning."""
