"""Judge prompt templates: the paper's Figure 9 prompt by default, others by file.

Every template is identified by the SHA-256 of its text, stored with every judgment, so the
default never changes silently and verdicts from different prompts never mix.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field
from pathlib import Path

from judges.errors import TemplateError

PLACEHOLDERS = frozenset({"instruction", "response_1", "response_2"})

PAPER_TEMPLATE_TEXT = (
    "Below is an instruction and two answers. Choose your preferred answer, which can be "
    "subjective.\n"
    "The instruction:\n"
    "{instruction}\n"
    "Answer1:\n"
    "{response_1}\n"
    "Answer2:\n"
    "{response_2}\n"
    "Which one is better, Answer1 or Answer2?\n"
    "Only write a single digit as your answer, '1' for Answer1 or '2' for Answer2. "
    "Do not add any explanation."
)


@dataclass(frozen=True, slots=True)
class JudgeTemplate:
    """A prompt with the placeholders {instruction}, {response_1} and {response_2}.

    Literal braces in the text are written doubled (`{{`, `}}`), as in `str.format`.
    """

    name: str
    text: str
    hash: str = field(init=False)

    def __post_init__(self) -> None:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None}
        except ValueError as error:
            raise TemplateError(
                f"template {self.name!r} is not a valid format string: {error}"
            ) from None
        missing, unknown = PLACEHOLDERS - names, names - PLACEHOLDERS
        if missing or unknown:
            raise TemplateError(
                f"template {self.name!r} must use exactly {{instruction}}, {{response_1}} and "
                f"{{response_2}}; missing: {sorted(missing)}, unknown: {sorted(unknown)} "
                "(write literal braces as {{ and }})"
            )
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]
        object.__setattr__(self, "hash", digest)

    def render(self, instruction: str, response_1: str, response_2: str) -> str:
        """The prompt showing `response_1` as Answer1 and `response_2` as Answer2."""
        return self.text.format(
            instruction=instruction, response_1=response_1, response_2=response_2
        )

    @classmethod
    def from_file(cls, path: Path) -> JudgeTemplate:
        """Read a template from a UTF-8 text file; its name is the file's stem."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TemplateError(f"cannot read template {path}: {error.strerror}") from None
        return cls(name=path.stem, text=text.removesuffix("\n"))


PAPER_TEMPLATE = JudgeTemplate(name="paper-figure9", text=PAPER_TEMPLATE_TEXT)
