"""Language identification with lingua (offline)."""

from __future__ import annotations

import pytest

from classifiers.language import detect_language, language_group, latin_text_is_english, simplified_chinese


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


@pytest.mark.parametrize(
    ("language", "text", "group"),
    [
        ("en", "Electric toys", "en"),
        (None, "Electric toys", "en"),  # Latin script, language unknown: English, the training bulk
        ("fr", "Jouets électriques", "latin"),
        ("vi", "Đồ chơi nhựa mềm", "latin"),
        (None, "软塑料玩具召回 (型号 AB-123)", "cjk"),  # a fifth of the letters is enough
        ("ja", "除湿機のリコール", "cjk"),
        ("ko", "어린이 장난감 리콜", "cjk"),
        ("ar", "القوابس والكابلات الكهربائية", "other_script"),
        ("ru", "Игрушки детские", "other_script"),
        ("zh", "Toy cars", "en"),  # the script decides first: an English title on a Chinese page
        ("en", "", "en"),
    ],
)
def test_language_group(language: str | None, text: str, group: str) -> None:
    assert language_group(language, text) == group


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("doll", True),  # a product name alone: English, the training bulk
        ("Children hoodie with drawstrings", True),
        ("Müller brand kettle may overheat", True),  # one foreign letter in English words
        ("Juguetes de plástico blando", False),
        ("Thu hồi sạc dự phòng do nguy cơ cháy nổ", False),
        ("Wycofanie zabawek z rynku", False),
        ("Richiamo di seggiolini auto per bambini", False),
    ],
)
def test_latin_text_of_unknown_language_is_english_unless_it_reads_otherwise(text: str, english: bool) -> None:
    assert latin_text_is_english(text) is english


def test_traditional_chinese_is_converted_and_japanese_left_alone() -> None:
    assert simplified_chinese("其他塑膠製玩具") == "其他塑胶制玩具"
    assert simplified_chinese("電暖器の回收") == "電暖器の回收"  # kana: Japanese, not converted
    assert simplified_chinese("Plastic toys") == "Plastic toys"
