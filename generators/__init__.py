"""Generation side of sxs: model registry, vLLM launch, OpenAI-compatible generation client."""
