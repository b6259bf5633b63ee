"""Distilled judges: a teacher's stored verdicts → a LoRA judge adapter served by the same
engine, and its agreement with the teacher on held-out pairs."""
