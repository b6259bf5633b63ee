"""Named errors of the generation side; each message names the model or entry and the fix."""


class GeneratorError(Exception):
    """Base class of every error raised by `generators`."""


class RegistryError(GeneratorError):
    """The model registry (models.toml) is missing, malformed, or names something absent."""


class UnknownModelError(GeneratorError):
    """A model name that the registry does not list."""


class GenerationUnavailableError(GeneratorError):
    """Every endpoint of a model failed (network, timeout, 5xx) on every attempt."""


class GenerationMalformedError(GeneratorError):
    """A model's server answered without a text (e.g. a null content) on every attempt."""


class GenerationRejectedError(GeneratorError):
    """The server refused a model's request (4xx), e.g. an adapter it does not serve."""


class ServerStartError(GeneratorError):
    """vLLM could not be found, exited during start-up, or was not healthy in time."""
