"""The message files (``<package>/messages/<lang>.yml``): every language has the same keys, every key
the code and templates use (as far as a regex can find it) exists, and the files load through the
tables the packages read them with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.render import STRINGS
from portal.i18n import MESSAGES
from schema.models import FREQUENCIES, MEASURE_KINDS, USER_ROLES
from tbt_alert.messages import Messages, MissingMessage, read_messages

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = ("zh", "en")
# package -> (where it keeps its message files, the tables its code reads them through)
TABLES = {"portal": MESSAGES, "alerts": STRINGS}

# `t.key`, `t['key']`, `t.get('key'` in templates; a literal followed by `~` is a key's prefix.
_TEMPLATE_KEY = re.compile(
    r"""\bt(?:\.(?!get\b)([a-z_][a-z0-9_]*)|\[\s*'([a-z0-9_]+)'\s*\]|\.get\(\s*'([a-z0-9_]+)'\s*,)"""
)
_TEMPLATE_PREFIX = re.compile(r"""\bt(?:\[|\.get\()\s*'([a-z0-9_]+)'\s*~""")
# In Python: `words["key"]`, `t["key"]`, `translator(...)["key"]`, and the title key of message_page.
_PYTHON_KEY = re.compile(
    r"""(?:\b(?:words|t)|translator\([^)]*\))\[\s*"([a-z0-9_]+)"\s*\]|message_page\(request, "([a-z_]+)\""""
)
_PYTHON_PREFIX = re.compile(r"""\bt\[\s*"([a-z0-9_]+)"\s*\+""")
# Keys built from a prefix and a value the code takes from a fixed list: every value needs its key.
ENUMERATED: dict[str, dict[str, tuple[str, ...]]] = {
    "portal": {
        "kind_": MEASURE_KINDS,
        "frequency_": FREQUENCIES,
        "role_": USER_ROLES,
        "sort_": ("relevance", "date", "deadline"),
        "group_": ("bri", "eu"),
    },
    "alerts": {"freq_": FREQUENCIES},
}


def _files(package: str) -> dict[str, Path]:
    return {lang: REPO / package / "messages" / f"{lang}.yml" for lang in LANGUAGES}


def _used(package: str) -> Iterator[tuple[str, str, bool]]:
    """(where, key or prefix, is_prefix) for each use of a message key in the package's code and templates."""
    for path in sorted((REPO / package).rglob("*")):
        where = str(path.relative_to(REPO))
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            found = [(m.group(1) or m.group(2), False) for m in _PYTHON_KEY.finditer(text)]
            found += [(m.group(1), True) for m in _PYTHON_PREFIX.finditer(text)]
        elif path.suffix in (".html", ".j2"):
            text = path.read_text(encoding="utf-8")
            found = [(next(g for g in m.groups() if g), False) for m in _TEMPLATE_KEY.finditer(text)]
            found += [(m.group(1), True) for m in _TEMPLATE_PREFIX.finditer(text)]
        else:
            continue
        yield from ((where, key, is_prefix) for key, is_prefix in found)


@pytest.mark.parametrize("package", sorted(TABLES))
def test_every_language_has_the_same_keys(package: str) -> None:
    keys = {lang: set(read_messages(path)) for lang, path in _files(package).items()}
    assert keys["zh"] - keys["en"] == set(), f"{package}/messages/en.yml lacks these keys"
    assert keys["en"] - keys["zh"] == set(), f"{package}/messages/zh.yml lacks these keys"


@pytest.mark.parametrize("package", sorted(TABLES))
def test_every_key_the_code_uses_exists(package: str) -> None:
    keys = set(read_messages(_files(package)["zh"]))
    uses = list(_used(package))
    # Guards the test itself: a regex that found nothing would pass everything.
    assert len({key for _, key, _ in uses}) > 20
    missing = [
        f"{where}: {key}"
        for where, key, is_prefix in uses
        if not (any(k.startswith(key) for k in keys) if is_prefix else key in keys)
    ]
    missing += [
        f"{prefix}{value}"
        for prefix, values in ENUMERATED[package].items()
        for value in values
        if f"{prefix}{value}" not in keys
    ]
    assert missing == []


@pytest.mark.parametrize("package", sorted(TABLES))
def test_the_tables_read_the_files(package: str) -> None:
    for lang, path in _files(package).items():
        table = TABLES[package][lang]
        assert isinstance(table, Messages)
        assert dict(table) == dict(read_messages(path))


def test_a_missing_key_names_its_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "zh.yml"
    path.write_text("greeting: 你好 {name}\n", encoding="utf-8")
    table = Messages(path)
    assert table["greeting"] == "你好 {name}"
    assert table.get("farewell", "-") == "-"
    assert "farewell" not in table
    with pytest.raises(MissingMessage) as caught:
        table["farewell"]
    assert str(path) in str(caught.value)
    assert "'farewell'" in str(caught.value)


def test_nothing_is_read_before_first_use(tmp_path: Path) -> None:
    table = Messages(tmp_path / "absent.yml")  # constructing reads nothing, so this does not fail yet
    with pytest.raises(Exception, match="absent.yml"):
        len(table)
