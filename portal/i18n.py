"""The portal's words in Chinese (the default) and English.

Staff of the quality bureau read Chinese; the English switch serves foreign-language
colleagues and reviewers. The words are data, in ``portal/messages/{zh,en}.yml``; code that looks
up a key the file lacks gets a ``MissingMessage`` naming the file and the key, and
``tests/foundation/test_messages.py`` checks the keys the code and templates use.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tbt_alert.messages import Messages, message_tables

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "tbt_lang"

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
# Each language's words, read from messages/<lang>.yml on first use.
MESSAGES: Mapping[str, Messages] = message_tables(MESSAGES_DIR, LANGUAGES)


def translator(language: str) -> Mapping[str, str]:
    return MESSAGES.get(language, MESSAGES[DEFAULT_LANGUAGE])


def pick_language(cookie: str | None, query: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
