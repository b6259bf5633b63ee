"""Language-controlled outcomes: a response not in the prompt's language loses its pair.

Policies (`LanguagePolicy`, named in a comparison request or a recipe):
- `off_language_loses` (the default): each response's language is identified
  (`judges.response_language`); where exactly one side answered in another language, that
  side loses the pair, whatever the judge said in either order. Where both or neither did, the
  judge's outcome stands. An invalid pair stays invalid, so the language-controlled score is
  taken over the same pairs as the raw one and the two can be compared directly.
- `none`: no language check; no language-controlled score, no off-language shares.
"""

from __future__ import annotations

from enum import StrEnum

from judges.verdicts import Outcome


class LanguagePolicy(StrEnum):
    """What a response in the wrong language does to its pair."""

    OFF_LANGUAGE_LOSES = "off_language_loses"
    NONE = "none"


def language_controlled(outcome: Outcome, on_language_a: bool, on_language_b: bool) -> Outcome:
    """The outcome for A once an off-language response loses (see the module)."""
    if outcome is Outcome.INVALID or on_language_a == on_language_b:
        return outcome
    return Outcome.WIN if on_language_a else Outcome.LOSS
