"""Message tables: the words a package shows its readers, one YAML file per language.

A package keeps its words in ``<package>/messages/<lang>.yml`` (a flat mapping of key to text) and
reads them through :class:`Messages`, so translators edit data, not code, and a test can compare the
languages' key sets. Nothing is read at import time: a table reads its file on first use and keeps
it. Looking up a key the file lacks raises :class:`MissingMessage`, which names the file and the key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import yaml

from tbt_alert.errors import TbtError


class MissingMessage(TbtError, KeyError):
    """A key is looked up that its message file does not define.

    A ``KeyError`` too, so ``.get()``, ``in`` and Jinja's lookups treat it as an absent key."""

    def __init__(self, path: Path, key: str):
        self.path = path
        self.key = key
        super().__init__(f"{path} has no message {key!r}; add it there and to the other languages' files.")

    def __str__(self) -> str:
        # KeyError would print the message in quotes, as if it were the key.
        return str(self.args[0])


def read_messages(path: Path) -> Mapping[str, str]:
    """The key -> text table of one message file; a file that is not such a table names itself."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TbtError(f"cannot read the message file {path} ({exc}); restore it from the repository.") from exc
    if not isinstance(raw, dict):
        raise TbtError(f"the message file {path} must be a mapping of key: text.")
    wrong = [key for key, text in raw.items() if not isinstance(key, str) or not isinstance(text, str)]
    if wrong:
        raise TbtError(f"the message file {path} maps {wrong[0]!r} to something other than text; quote it.")
    return MappingProxyType(raw)


class Messages(Mapping[str, str]):
    """One language's words, read from ``path`` on first use and kept (read-only) after that.

    Templates write ``t.key``: Jinja tries attributes before items, so this class keeps its own
    attributes private (``_path``, ``_table``) and no message key can be shadowed by one."""

    def __init__(self, path: Path):
        self._path = path
        self._table: Mapping[str, str] | None = None

    def _words(self) -> Mapping[str, str]:
        if self._table is None:
            self._table = read_messages(self._path)
        return self._table

    def __getitem__(self, key: str) -> str:
        try:
            return self._words()[key]
        except KeyError:
            raise MissingMessage(self._path, key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._words()

    def __iter__(self) -> Iterator[str]:
        return iter(self._words())

    def __len__(self) -> int:
        return len(self._words())

    def __repr__(self) -> str:
        return f"Messages({str(self._path)!r})"


def message_tables(directory: Path, languages: tuple[str, ...]) -> Mapping[str, Messages]:
    """Language -> its :class:`Messages` from ``directory/<lang>.yml``; reads nothing yet."""
    return MappingProxyType({lang: Messages(directory / f"{lang}.yml") for lang in languages})
