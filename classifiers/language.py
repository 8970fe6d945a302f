"""Language identification of measure texts, offline, with lingua.

The detector is built once per process (it loads its models lazily, ~100 MB for all
languages, so we restrict it to the languages our sources publish in).
"""

from __future__ import annotations

import re
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


# Calibration groups of the sector head (``Head.groups``): languages whose texts get
# similar part scores share a mixture and thresholds. English is the bulk of the labelled
# data; Chinese, Japanese and Korean share the character n-grams the lexical part reads
# them by; other Latin-script languages share word-and-character features with English
# training text; the rest (Cyrillic, Arabic, Greek, Thai, ...) share neither.
ENGLISH, LATIN, CJK, OTHER_SCRIPT = "en", "latin", "cjk", "other_script"
LANGUAGE_GROUPS = (ENGLISH, LATIN, CJK, OTHER_SCRIPT)
_CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})
_OTHER_SCRIPT_LANGUAGES = frozenset(
    {"ru", "uk", "kk", "bg", "el", "ar", "fa", "he", "ur", "hi", "th", "sr", "mk", "be", "mn", "ka", "hy"}
)


_CJK_LETTER = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_LATIN_LETTER = re.compile("[\x00-\x7f\u00c0-\u024f\u1e00-\u1eff]")


@lru_cache(maxsize=1024)  # the classifier asks twice per text: its group, and whether to convert
def _script_group(text: str) -> str:
    """The group by script alone, for text too short to identify (a product name)."""
    letters = "".join(filter(str.isalpha, text))  # counted in C: this ran per character in Python
    if not letters:
        return ENGLISH
    cjk = len(_CJK_LETTER.findall(letters))
    if cjk * 5 >= len(letters):  # a fifth is enough: Chinese titles carry Latin model numbers
        return CJK
    latin = len(_LATIN_LETTER.findall(letters))
    return LATIN if latin * 2 >= len(letters) else OTHER_SCRIPT


# Short words that mark a Latin-script text as English or as another language. Why not lingua
# here: its models cost 750 MB of memory per process and it reads a one-word product name
# ("doll") as Finnish; the classifier needs only "English or not", and only where a record
# does not say its language.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENGLISH_WORDS = _words("the of and for with to in on by from or is are this that be may which due risk")
_FOREIGN_WORDS = _words(
    "de la le les des du et dans pour sur au aux une "  # fr
    "el los las del y con para por uno una "  # es
    "der die das und mit für von zur zum ein eine "  # de
    "il di della delle per dei degli gli "  # it
    "do dos em com ao na nas no os "  # pt
    "w z dla oraz się "  # pl
    "ve ile için bir bu ya "  # tr
    "và của cho các những được với trong "  # vi
    "van het een voor met och af för på"  # nl, sv
)


def latin_text_is_english(text: str) -> bool:
    """Whether Latin-script text of unknown language reads as English (the training bulk).

    Letters outside ASCII (é, ñ, ą, ş, ư) and the short words of other languages count
    against English, English short words for it; a text with neither (a product name) is
    English.
    """
    words = re.findall(r"\w+", text[:_MAX_CHARS].lower())
    foreign = sum(1 for ch in text[:_MAX_CHARS] if ch.isalpha() and not ch.isascii())
    foreign += 2 * sum(1 for w in words if w in _FOREIGN_WORDS)
    english = 2 * sum(1 for w in words if w in _ENGLISH_WORDS)
    return foreign < 2 or english > foreign


def language_group(language: str | None, text: str) -> str:
    """The calibration group of a text whose language is ``language`` (None: unknown).

    The script decides first, because a declared language can be wrong for the text at hand
    (an English title on a Chinese page); then the language splits Latin script into English
    and the rest. Unknown language in Latin script counts as English, the training bulk.
    """
    script = _script_group(text)
    if script != LATIN:
        return script
    code = (language or "").lower()[:2]
    if code in _CJK_LANGUAGES or code in _OTHER_SCRIPT_LANGUAGES:
        return ENGLISH  # Latin text on a page in a non-Latin script is nearly always English
    return ENGLISH if code in ("", "en") else LATIN


@lru_cache(maxsize=1)
def _traditional_to_simplified() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


def _has_kana_or_hangul(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def simplified_chinese(text: str) -> str:
    """Chinese text in Simplified characters (Taiwan and Hong Kong write Traditional).

    The classifier's Chinese training text is Simplified (the Taiwan tariff is converted), so
    Traditional input is converted the same way. Japanese and Korean text is left alone: it
    writes kana or hangul beside its kanji, which t2s would rewrite into Chinese forms.
    """
    if _script_group(text) != CJK or _has_kana_or_hangul(text):
        return text
    converted: str = _traditional_to_simplified().convert(text)
    return converted
