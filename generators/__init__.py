"""Generation side of sxs: the model registry, the vLLM command line and process, the posting
to a model's replicas, the cached generation and multiple-choice clients, eval and MCQ sets."""
