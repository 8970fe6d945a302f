"""Language identification with lingua (offline)."""

from __future__ import annotations

import pytest

from classifiers.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Safety requirements for electric toys", "en"),
        ("Exigences de sécurité des jouets électriques", "fr"),
        ("Rückruf von Käse wegen Listerien", "de"),
        ("Presencia de mostaza no declarada en pasta alimenticia", "es"),
        ("Игрушки детские. Требования безопасности", "ru"),
        ("电动玩具安全要求", "zh"),
    ],
)
def test_detects_the_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "12345 -- 678"])
def test_too_little_text_gives_none(text: str | None) -> None:
    assert detect_language(text) is None


def test_long_text_is_fine() -> None:
    assert detect_language("Safety of toys. " * 10_000) == "en"
