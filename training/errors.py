"""Named errors of the training side; each message names the file, mixture or option at fault."""


class TrainingError(Exception):
    """Base class of every error raised by `training`."""


class MixtureError(TrainingError):
    """A mixture that cannot be built from the parallel set as asked."""


class RegistryFileError(TrainingError):
    """The registry file cannot take the adapter (unreadable, or the name means another one)."""


class TranslationError(TrainingError):
    """The translation endpoint cannot be used at all (checked before any work)."""


class BaseModelError(TrainingError):
    """A base model file that cannot be used (missing, damaged, unreadable, extra missing)."""
