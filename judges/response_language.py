"""Does a model answer in the language it was asked in? py3langid over the responses.

py3langid (a maintained fork of langid.py) ships its own model: nothing is downloaded. The
identifier is restricted to the languages of the matrix plus English, so a response is judged
among plausible answers; text it cannot classify (empty, digits only) counts as off-language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    supported = set(identifier.nb_classes)
    identifier.set_languages([code for code in languages if code in supported])
    return identifier


def language_of(text: str, candidates: Sequence[str]) -> str | None:
    """The most likely of `candidates` (plus en) for `text`; None when there are no letters."""
    if not any(character.isalpha() for character in text):
        return None
    identifier = _identifier(tuple(sorted({*candidates, "en"})))
    return str(identifier.classify(text)[0])


def off_language_share(
    texts: Iterable[str], language: str, candidates: Sequence[str]
) -> float | None:
    """Percent of `texts` not identified as `language`; None for no texts."""
    found = [language_of(text, candidates) for text in texts]
    if not found:
        return None
    return 100.0 * sum(code != language for code in found) / len(found)
