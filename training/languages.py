"""The project's language table: the paper's 12 main languages, the Slavic study's 5, and the
orders used by its experiments. Extend `LANGUAGES` to add one."""

from __future__ import annotations

MAIN = ("ar", "cs", "en", "es", "et", "fi", "he", "hi", "it", "ru", "sw", "zh")
SLAVIC = ("sr", "hr", "sl", "pl", "sk")
LANGUAGES: dict[str, str] = {
    "ar": "Arabic",
    "cs": "Czech",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "fi": "Finnish",
    "he": "Hebrew",
    "hi": "Hindi",
    "it": "Italian",
    "ru": "Russian",
    "sw": "Swahili",
    "zh": "Chinese",
    "sr": "Serbian",
    "hr": "Croatian",
    "sl": "Slovenian",
    "pl": "Polish",
    "sk": "Slovak",
}

# §3.4, Table 4: the orders in which languages join the n-language subsets
TABLE4_PERMUTATIONS = (
    ("fi", "en", "ru", "it", "sw", "ar"),
    ("sw", "it", "ar", "en", "fi", "ru"),
    ("it", "fi", "en", "ar", "ru", "sw"),
)
# §3.2: the share of multilingual examples, in percent
P_SWEEP = (1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
