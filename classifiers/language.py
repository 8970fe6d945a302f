"""Language identification of measure texts, offline, with lingua.

The detector is built once per process (it loads its models lazily, ~100 MB for all
languages, so we restrict it to the languages our sources publish in).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Languages of the sources we crawl or plan to (WTO, EU, Belt-and-Road members).
_LANGUAGES = (
    "ENGLISH",
    "CHINESE",
    "FRENCH",
    "GERMAN",
    "SPANISH",
    "RUSSIAN",
    "ARABIC",
    "PORTUGUESE",
    "ITALIAN",
    "DUTCH",
    "POLISH",
    "CZECH",
    "TURKISH",
    "VIETNAMESE",
    "THAI",
    "INDONESIAN",
    "MALAY",
    "JAPANESE",
    "KOREAN",
    "UKRAINIAN",
    "KAZAKH",
    "PERSIAN",
    "HUNGARIAN",
    "ROMANIAN",
    "GREEK",
    "BULGARIAN",
    "SWEDISH",
    "DANISH",
    "FINNISH",
    "HEBREW",
    "URDU",
    "HINDI",
)
# Beyond this many characters detection gets slower without getting better.
_MAX_CHARS = 2000


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in _LANGUAGES if hasattr(Language, name)]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def detect_language(text: str | None) -> str | None:
    """ISO 639-1 code of the main language of ``text``, or None when there is too little text."""
    if not text:
        return None
    sample = " ".join(str(text)[:_MAX_CHARS].split())
    if sum(ch.isalpha() for ch in sample) < 3:
        return None
    language = _detector().detect_language_of(sample)
    if language is None:
        return None
    return str(language.iso_code_639_1.name).lower()
