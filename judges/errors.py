"""Named errors of the judging side; each message says what is wrong and how to fix it."""


class JudgeError(Exception):
    """Base class of every error raised by `judges`."""


class TemplateError(JudgeError):
    """A judge prompt template lacks a placeholder or has an unknown one."""


class JudgeUnavailableError(JudgeError):
    """The judge endpoint failed (network, timeout, 5xx, malformed JSON) after every retry."""


class JudgeRequestRejectedError(JudgeError):
    """The judge endpoint refused the request (4xx): retrying cannot help."""


class JudgeProtocolError(JudgeError):
    """The judge endpoint answered, but not in the shape the mode needs (e.g. no logprobs)."""


class MissingReferenceError(JudgeError):
    """The reference judge was asked to judge a pair that has no reference answer."""


class ReplayMissingError(JudgeError):
    """The replay judge has no recorded verdict for a pair and order it was asked about."""


class NothingToCompareError(JudgeError):
    """Two label sets share no labelled item."""


class ConsistencyError(JudgeError):
    """Consistency metrics asked of a table that cannot give them; the message says why."""


class JudgeDistillationError(JudgeError):
    """A teacher's verdicts cannot make a student judge (none, or all one position)."""
