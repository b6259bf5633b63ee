"""Does a model answer in the language it was asked in? py3langid over the responses.

py3langid (a maintained fork of langid.py) ships its own model: nothing is downloaded. The
identifier is restricted to the languages of the matrix plus English, so a response is judged
among plausible answers; text it cannot classify (empty, digits only) counts as off-language.
Languages are told apart by their primary subtag (zh-Hans and zh-Hant are both zh); a language
the identifier does not know at all is "not checked", never off-language.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _full_identifier() -> Any:
    """py3langid's identifier over every language it knows, loaded once (0.6 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE)


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> Any:
    """An identifier restricted to `languages` (those it knows): a shallow copy of the full
    one, whose model arrays it shares (restricting rebinds the copy's own attributes)."""
    identifier = copy.copy(_full_identifier())
    identifier.set_languages([code for code in languages if code in _supported()])
    return identifier


def primary(code: str) -> str:
    """A code's primary subtag, what the identifier knows: zh-Hans → zh, pt-BR → pt."""
    return code.split("-", 1)[0].lower()


def detectable(code: str) -> bool:
    """Whether the identifier can tell this language (by its primary subtag) at all."""
    return primary(code) in _supported()


@lru_cache(maxsize=1)
def _supported() -> frozenset[str]:
    return frozenset(_full_identifier().nb_classes)


def language_of(text: str, candidates: Sequence[str]) -> str | None:
    """The most likely of `candidates` (plus en) for `text`, told apart by primary subtags and
    returned as the candidate's own code (a zh-Hans candidate comes back as zh-Hans); None
    when there are no letters."""
    if not any(character.isalpha() for character in text):
        return None
    primaries = tuple(sorted({primary(code) for code in candidates} | {"en"}))
    found = str(_identifier(primaries).classify(text)[0])
    return next((code for code in candidates if primary(code) == found), found)


def in_language(text: str, language: str, candidates: Sequence[str]) -> bool | None:
    """Whether `text` is in `language`; None (not checked) for a language the identifier
    cannot tell, which must never count as off-language. Text without letters is off."""
    if not detectable(language):
        return None
    found = language_of(text, candidates)
    return found is not None and primary(found) == primary(language)


def off_language_share(
    texts: Iterable[str], language: str, candidates: Sequence[str]
) -> float | None:
    """Percent of `texts` not identified as `language`; None for no texts, or for a language
    the identifier cannot tell."""
    found = [in_language(text, language, candidates) for text in texts]
    if not found or None in found:
        return None
    return 100.0 * sum(not ok for ok in found) / len(found)
