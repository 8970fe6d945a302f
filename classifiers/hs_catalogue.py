"""The HS 2022 subheadings (HS-6) with their names in English and Simplified Chinese.

English names are the HS 2022 nomenclature's (``shared/data/hs``). No mainland tariff with
full descriptions is public, so the Chinese names come from Taiwan's tariff (Traditional,
converted with OpenCC t2s): a subheading with one national line takes that line's text; one
split into several lines takes their texts joined, as in the tariff (the subheading itself
has no line there). Taiwan's file predates a few HS 2022 subheadings; those take the text of
their HS 2017 predecessor (the WCO correlation table), and say so in ``zh_basis``.

The table is built once from the shared data (``tbt-alert train`` writes it) and read at run
time from ``classifiers/hs_names.tsv``: the portal and the bulletins name codes without the
shared data or the encoder.
"""

from __future__ import annotations

import csv
import functools
import gzip
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tbt_alert.errors import ClassifierError

CATALOGUE_FILE = Path(__file__).resolve().parent / "hs_names.tsv"
HS_CSV = ("hs", "datasets_harmonized-system__harmonized-system.csv")
HS2017_TABLE = ("hs", "insongkim_concordance__HS2022toHS2017ConversionAndCorrelationTables.xlsx")
TW_CHINESE = ("nomenclature", "tw_tariff", "note_10_C.txt.gz")
_MAX_JOINED = 3  # national lines named in a split subheading's Chinese name; more read as 等
_COLUMNS = ("code", "name_zh", "name_en", "zh_basis")
# Misprints in Taiwan's file that OpenCC carries over: 壼 (a palace corridor) for 壺 (a pot)
# in every kettle and teapot line.
_SOURCE_TYPOS = str.maketrans({"壼": "壺"})


@dataclass(frozen=True)
class HsName:
    """One HS-6 subheading: ``code`` is six digits; ``zh_basis`` says where the Chinese came from."""

    code: str
    name_zh: str
    name_en: str
    zh_basis: str = "tw"

    @property
    def dotted(self) -> str:
        return dotted(self.code)


def dotted(code: str) -> str:
    """``851671`` → ``8516.71``, the way traders write a subheading (shorter codes unchanged)."""
    digits = "".join(ch for ch in str(code) if ch.isdigit())
    return f"{digits[:4]}.{digits[4:6]}" if len(digits) >= 6 else digits


def _hs_rows(data_dir: Path) -> list[dict[str, str]]:
    path = data_dir.joinpath(*HS_CSV)
    if not path.is_file():
        raise ClassifierError(f"the HS nomenclature {path} is missing; restore shared/data/hs.")
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def hs_descriptions(data_dir: Path) -> dict[str, str]:
    """Code → English description for every HS 2022 chapter, heading and subheading."""
    return {row["hscode"]: " ".join(row["description"].split()) for row in _hs_rows(data_dir)}


def _taiwan_lines(data_dir: Path) -> dict[str, list[str]]:
    """HS-6 → the Simplified Chinese texts of Taiwan's national lines under it, in tariff order."""
    from opencc import OpenCC  # no py.typed; imported here, not at import

    path = data_dir.joinpath(*TW_CHINESE)
    if not path.is_file():
        raise ClassifierError(f"the Taiwan tariff {path} is missing; restore shared/data/nomenclature/tw_tariff.")
    converter = OpenCC("t2s")
    lines: dict[str, list[str]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            code, _, text = line.strip().partition(" ")
            text = " ".join(text.split())
            if code.isdigit() and len(code) >= 6 and text:
                simplified = str(converter.convert(text.translate(_SOURCE_TYPOS)))
                if simplified not in lines[code[:6]]:
                    lines[code[:6]].append(simplified)
    return lines


def _hs2017_predecessors(data_dir: Path) -> dict[str, str]:
    """HS 2022 subheading → its HS 2017 code (the WCO conversion table)."""
    import openpyxl

    path = data_dir.joinpath(*HS2017_TABLE)
    if not path.is_file():
        raise ClassifierError(f"the HS 2022→2017 table {path} is missing; restore shared/data/hs.")
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = book.worksheets[0].iter_rows(min_row=2, values_only=True)
        return {str(a).strip(): str(b).strip() for a, b, *_ in rows if a and b}
    finally:
        book.close()


def chinese_name(lines: list[str]) -> str:
    """A subheading's Chinese name from its national lines: one line as is, several joined by ；."""
    if len(lines) <= _MAX_JOINED:
        return "；".join(lines)
    return "；".join(lines[:_MAX_JOINED]) + "等"


def build_catalogue(data_dir: Path) -> list[HsName]:
    """Every HS 2022 subheading with its English and Chinese names (from the shared data)."""
    taiwan = _taiwan_lines(data_dir)
    predecessors = _hs2017_predecessors(data_dir)
    names = []
    for row in _hs_rows(data_dir):
        code = row["hscode"]
        if row["level"] != "6" or not code.isdigit():
            continue
        basis = "tw"
        lines = taiwan.get(code, [])
        if not lines:
            old = predecessors.get(code, "")[:6]
            lines, basis = taiwan.get(old, []), f"tw:hs2017:{old}"
        names.append(HsName(code, chinese_name(lines), " ".join(row["description"].split()), basis if lines else ""))
    return names


def write_catalogue(names: Iterable[HsName], path: Path = CATALOGUE_FILE) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(_COLUMNS)
        for name in sorted(names, key=lambda n: n.code):
            writer.writerow([name.code, name.name_zh, name.name_en, name.zh_basis])


@functools.lru_cache(maxsize=4)
def load_catalogue(path: Path = CATALOGUE_FILE) -> Mapping[str, HsName]:
    """Code → name, read once per process."""
    if not path.is_file():
        raise ClassifierError(f"the HS name table {path} is missing; run `tbt-alert train` to write it.")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = tuple(next(reader, ()))
        if header != _COLUMNS:
            raise ClassifierError(f"{path} has columns {header}, not {_COLUMNS}; run `tbt-alert train` again.")
        return {row[0]: HsName(*row) for row in reader if len(row) == len(_COLUMNS)}


def hs_name(code: str) -> HsName | None:
    """The subheading a code (6 digits or more: a national line) falls under; None when unknown."""
    digits = "".join(ch for ch in str(code) if ch.isdigit())
    return load_catalogue().get(digits[:6]) if len(digits) >= 6 else None
