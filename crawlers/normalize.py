"""Normalisation every item gets before it is stored: language, white space.

Pure and offline (lingua's models ship inside the wheel), so ``tbt-alert parse``
prints exactly what the crawl would store.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

if TYPE_CHECKING:
    from crawlers.items import MeasureItem
    from crawlers.sources import SourceConfig

# Languages of the sources we read or plan to (EU, Belt-and-Road, ASEAN, GCC).
# Limiting the candidates keeps detection fast and avoids exotic false positives.
_CANDIDATES = (
    "en",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "nl",
    "pl",
    "cs",
    "sk",
    "hu",
    "ro",
    "bg",
    "el",
    "sv",
    "da",
    "fi",
    "et",
    "lv",
    "lt",
    "sl",
    "hr",
    "ru",
    "uk",
    "kk",
    "ar",
    "tr",
    "zh",
    "ja",
    "ko",
    "vi",
    "th",
    "id",
    "ms",
)
# Below this many letters a guess is noise ("Toy", "LED"); the source's own language stands.
_MIN_LETTERS = 20


@functools.lru_cache(maxsize=8)
def detector(languages: tuple[str, ...] = _CANDIDATES) -> LanguageDetector:
    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
    if len(langs) == 1:  # lingua needs at least two candidates
        langs.append(Language.ENGLISH if langs[0] != Language.ENGLISH else Language.FRENCH)
    return LanguageDetectorBuilder.from_languages(*langs).with_low_accuracy_mode().build()


def detect_language(text: str | None, fallback: str | None = None) -> str | None:
    """ISO 639-1 code of ``text``; ``fallback`` when the text is too short to tell."""
    if not text or sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return fallback
    found = detector().detect_language_of(text)
    if found is None:
        return fallback
    return found.iso_code_639_1.name.lower()


def normalise(item: MeasureItem, config: SourceConfig) -> MeasureItem:
    """``item`` with its language set: the parser's, else the only language the source
    publishes in, else detected from title and description."""
    if item.language:
        return item
    if len(config.languages) == 1:
        return item.model_copy(update={"language": config.languages[0]})
    sample = " ".join(t for t in (item.title, item.description) if t)
    return item.model_copy(update={"language": detect_language(sample, fallback=None)})
