"""Query understanding: what a reader's words name (a sector, a country, a hazard, an HS heading),
so that 玩具 finds every measure tagged toys in whatever language it is written.

The vocabulary is the project's own reference data, read once per process on first use:
sector names and keywords (Chinese and English, ``classifiers/sectors.yml``), the Chinese names of
the country registry (``tbt_alert/countries.py``) plus the regional groups a reader names (欧盟,
海湾/海合会, 欧亚经济联盟), the hazards, terms and products of the bulletins' glossary
(``alerts/glossary/terms.yml``, read as data: ``search`` may not import ``alerts``), and, sparingly,
HS subheadings whose Chinese name a query repeats exactly (``classifiers/hs_names.tsv``).

Matching is a greedy longest match inside each Chinese run and over English words. A single Chinese
character (衣, 锤, 茶) is recognised only as a whole word of the query; a generic head word after a
recognised one (电子 + 产品, 机械 + 设备) belongs to it. A query with search syntax (quotes, AND/OR/NOT,
``+ - | *``) is taken literally: whoever writes operators wants exactly those words.

:func:`interpret` returns an :class:`Interpretation`; ``search.query.build_query`` applies it:
a recognised sector matches by the sector tag *or* by its words (boosted for the tag), a hazard or
term by its words in any language of the glossary, an HS heading by the code or the words, and a
country filters the markets, as the country facet does.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from search.timing import span

Kind = Literal["sector", "country", "origin", "hazard", "term", "hs"]

GLOSSARY_FILE = Path(__file__).resolve().parents[1] / "alerts" / "glossary" / "terms.yml"
# Glossary categories read as words in every language (召回 also finds "recall", "rappel"); objectives
# are left out: 食品安全 would be read as the objective and lose the food sector.
_GLOSSARY_KINDS: Mapping[str, Kind] = {"hazard": "hazard", "product": "term", "term": "term", "measure": "term"}
KIND_LABELS: Mapping[Kind, str] = {
    "sector": "行业", "country": "国家", "origin": "原产地", "hazard": "危害", "term": "术语", "hs": "HS",
}  # fmt: skip
# Regional groups people name in Chinese. GCC: the six member states of the Cooperation Council
# for the Arab States of the Gulf (Charter, 1981); EAEU: the Treaty on the Eurasian Economic Union
# (2014) with Armenia and Kyrgyzstan's accession. The EU is read from the registry's eu flag.
_GCC = ("ARE", "BHR", "KWT", "OMN", "QAT", "SAU")
_EAEU = ("ARM", "BLR", "KAZ", "KGZ", "RUS")
_GROUPS: Mapping[str, tuple[str, str, tuple[str, ...] | None]] = {
    "海湾": ("GCC", "海湾国家(海合会)", _GCC),
    "海湾国家": ("GCC", "海湾国家(海合会)", _GCC),
    "海湾地区": ("GCC", "海湾国家(海合会)", _GCC),
    "海合会": ("GCC", "海湾国家(海合会)", _GCC),
    "海湾合作委员会": ("GCC", "海湾国家(海合会)", _GCC),
    "欧亚经济联盟": ("EAEU", "欧亚经济联盟", _EAEU),
    "欧亚联盟": ("EAEU", "欧亚经济联盟", _EAEU),
    "欧盟": ("EU", "欧盟", None),
    "欧洲联盟": ("EU", "欧盟", None),
}
# China is never a country filter: in 中国 玩具 the reader means products made in China (recalls
# of them), not measures China notified, and a filter would hide exactly those; it reads as origin.
_NOT_A_FILTER = {"CHN"}
_ORIGIN_CHINA = ("中国", "中国产", "中国制造", "原产中国", "产自中国")
# Words that only say "a kind of thing": after a recognised word they belong to it (电子产品, 机械设备).
_GENERIC_HEADS = ("产品", "制品", "用品", "设备", "器具", "器材", "装置", "材料", "商品", "物品", "类")
# Left over on their own, these say nothing a search could use.
_FILLERS = {
    "的", "和", "与", "及", "或", "类", "相关", "有关", "关于", "方面", *_GENERIC_HEADS,
    "a", "an", "the", "in", "of", "for", "on", "with", "and", "to", "from", "about",
    # The same little words in the other languages staff type (French, Spanish, Russian).
    "et", "de", "des", "du", "la", "le", "les", "pour", "aux", "en", "y", "para", "и", "для", "в", "на", "с",
}  # fmt: skip
_HS_MIN_CHARS = 4  # an HS name shorter than this ("其他", "玩具") is too generic to mean one heading
_HS_MAX_CODES = 3  # a name shared by more subheadings is not specific either
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SYNTAX = re.compile(r'["+|*~()]|(?<!\S)-|(?<!\S)(?:AND|OR|NOT)(?!\S)')
# Any alphabet's words (vêtements, игрушки stay whole: they are searched as typed when left over).
_ELISION = re.compile(r"(?<!\w)(?:qu|[cdjlmnst])['’](?=\w)")  # French d'étouffement: the word is étouffement
_EN_WORD = re.compile(r"[^\W_][\w'\-]*")


class Recognised(BaseModel):
    """One thing the query names: ``kind`` and ``code`` identify it (``sector:toys``), ``text`` is
    the reader's words, ``label_zh`` what the page shows, ``codes`` the codes it matches (a sector
    word may mean two sectors, a group several countries), ``forms`` the words in other languages."""

    kind: Kind
    code: str
    text: str
    label_zh: str
    codes: list[str] = Field(default_factory=list)
    forms: list[str] = Field(default_factory=list)

    @property
    def key(self) -> str:
        """What an undo link names to drop this reading (``ignore=sector:toys``)."""
        return f"{self.kind}:{self.code}"

    @property
    def kind_zh(self) -> str:
        return KIND_LABELS[self.kind]


class Interpretation(BaseModel):
    """What was recognised in a query and the words left to search as they are."""

    query: str
    items: list[Recognised] = Field(default_factory=list)
    free_text: str = ""
    ignored: list[str] = Field(default_factory=list)  # item keys the reader switched off

    @property
    def applied(self) -> bool:
        return bool(self.items)

    def summary_zh(self) -> str:
        """``行业 玩具 · 国家 德国``: the line the portal and the CLI show."""
        return " · ".join(f"{item.kind_zh} {item.label_zh}" for item in self.items)


@dataclass(frozen=True)
class _Entry:
    kind: Kind
    code: str
    label_zh: str
    codes: tuple[str, ...]
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Vocabulary:
    zh: Mapping[str, tuple[_Entry, ...]]  # surface -> entries (a word may name two sectors)
    en: Mapping[tuple[str, ...], tuple[_Entry, ...]]  # lowercased word sequence -> entries
    zh_longest: int
    en_longest: int
    # French, Spanish and Russian glossary forms: per word a stem the query's word starts with
    # (jouet -> jouets, игрушк -> игрушки), or the whole word where the form ends with "!".
    stems: Mapping[tuple[tuple[str, bool], ...], tuple[_Entry, ...]] = dataclasses.field(default_factory=dict)


_STEM_LANGUAGES = ("fr", "es", "ru")
_MIN_STEM = 4  # a shorter stem ("бор") must be marked whole ("бор!") to count


def _stem_key(form: str) -> tuple[tuple[str, bool], ...] | None:
    """A glossary form as (stem, whole word) per word; None for one too short to be safe."""
    exact = form.strip().endswith("!")
    words = _en_words(form.strip().rstrip("!"))
    if not words:
        return None
    key = tuple((w, exact and i == len(words) - 1) for i, w in enumerate(words))
    return key if all(whole or len(stem) >= _MIN_STEM for stem, whole in key) else None


def _stem_surfaces(zh: _Table) -> dict[tuple[tuple[str, bool], ...], list[_Entry]]:
    """Each fr/es/ru form of a glossary term reads as the term's Chinese does (jouets as 玩具: the
    toys sector), so a French or Russian query is understood as its Chinese translation would be."""
    stems: dict[tuple[tuple[str, bool], ...], list[_Entry]] = {}
    for raw in _glossary():
        entries = zh.get(str(raw.get("zh") or ""))
        if not entries:
            continue
        for language in _STEM_LANGUAGES:
            for form in raw.get(language) or ():
                key = _stem_key(str(form))
                if key is not None:
                    for entry in entries:
                        _add(stems, key, entry)
    return stems


def _stem_match(span: Sequence[str], vocab: _Vocabulary) -> tuple[_Entry, ...]:
    for key, entries in vocab.stems.items():
        if len(key) == len(span) and all(
            word == stem if whole else word.startswith(stem) for word, (stem, whole) in zip(span, key, strict=True)
        ):
            return entries
    return ()


def _add(table: dict[Any, list[_Entry]], surface: Any, entry: _Entry) -> None:
    found = table.setdefault(surface, [])
    if all((e.kind, e.code) != (entry.kind, entry.code) for e in found):
        found.append(entry)


def _sector_heads(name_zh: str) -> list[str]:
    """Short names inside a sector's Chinese name: 食品与农产品(茶叶、水产…) -> 食品与农产品, 食品, 农产品."""
    head = re.split(r"[(（]", name_zh)[0]
    parts = [head, *re.split(r"[、与及和]", head)]
    return [p for p in parts if len(p) >= 2]


def _glossary() -> list[dict[str, Any]]:
    data = yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
        raise ValueError(f"{GLOSSARY_FILE} has no list of terms; restore it from git")
    return [t for t in data["terms"] if isinstance(t, dict)]


def _query_forms(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """A glossary term's forms as query words: a stem is searched by prefix (фталат*), a form marked
    ``!`` exactly, a form of several words as a phrase."""
    forms: list[str] = [str(raw["zh"])]
    for lang in ("en", "fr", "es", "ru"):
        for form in raw.get(lang) or ():
            text = str(form).strip()
            exact = text.endswith("!")
            text = text.rstrip("!").strip().strip("()").strip()
            if not text or _SYNTAX.search(text.replace("-", " ")):
                continue
            forms.append(f'"{text}"' if " " in text else (text if exact else f"{text}*"))
    return tuple(dict.fromkeys(forms))


def _en_words(text: str) -> tuple[str, ...]:
    return tuple(_EN_WORD.findall(_ELISION.sub("", text.lower())))


_Table = dict[Any, list[_Entry]]


def _sector_surfaces(zh: _Table, en: _Table) -> None:
    from classifiers.taxonomy import load_taxonomy

    for sector in load_taxonomy().sectors:
        entry = _Entry("sector", sector.code, _sector_heads(sector.name_zh)[0], (sector.code,))
        for surface in [sector.name_zh, *_sector_heads(sector.name_zh), *sector.keywords.get("zh", ())]:
            _add(zh, surface, entry)
        name_en = re.split(r"\s*\(", sector.name_en)[0]
        for surface in [name_en, *sector.keywords.get("en", ())]:
            if _en_words(surface):
                _add(en, _en_words(surface), entry)


def _country_surfaces(zh: _Table) -> None:
    from tbt_alert.countries import countries

    registry = countries()
    eu_members = tuple(c.alpha3 for c in registry if c.eu)
    for surface, (code, label, members) in _GROUPS.items():
        _add(zh, surface, _Entry("country", code, label, members if members is not None else eu_members))
    for surface in _ORIGIN_CHINA:
        _add(zh, surface, _Entry("origin", "CHN", "中国", ("CHN",)))
    for row in registry:
        if row.alpha3 in _NOT_A_FILTER or row.alpha3 == "EUR":
            continue
        for surface in (row.name_zh, *row.aliases):
            if _CJK.fullmatch(surface) and len(surface) >= 2:
                _add(zh, surface, _Entry("country", row.alpha3, row.name_zh, (row.alpha3,)))


def _glossary_surfaces(zh: _Table, en: _Table) -> dict[str, tuple[str, ...]]:
    """Adds the glossary's words; returns, per sector, the words in other languages of the glossary
    product that names it (toys: toy*, jouet*, игрушк*), which every reading of the sector then carries."""
    from classifiers.taxonomy import load_taxonomy

    # Only a product that *is* the sector speaks for all of it: its id is the sector's code (toys,
    # batteries) or its Chinese is the sector's own name (食品); 涂料 (paints) does not speak for chemicals.
    names = {s.code: {s.code, *_sector_heads(s.name_zh)} for s in load_taxonomy().sectors}
    sector_forms: dict[str, tuple[str, ...]] = {}
    for raw in _glossary():
        kind = _GLOSSARY_KINDS.get(str(raw.get("category")))
        if kind is None or not raw.get("zh"):
            continue
        entry = _Entry(kind, str(raw["id"]), str(raw["zh"]), (), _query_forms(raw))
        surfaces: list[tuple[_Table, Any]] = [(zh, str(raw["zh"]))]
        surfaces += [(en, _en_words(str(f).rstrip("!"))) for f in raw.get("en") or ()]
        for table, surface in surfaces:
            if not surface:
                continue
            if surface in table and kind == "hazard":
                # A hazard (镉, 邻苯二甲酸酯) is more specific than the sector that lists it as a keyword:
                # the reader wants measures on cadmium, not every chemicals measure.
                table[surface] = [entry, *(e for e in table[surface] if e.kind != "sector")]
            elif surface in table:
                # A product word of a sector (玩具) stays a sector reading and gains the glossary's
                # words in other languages, so it matches untagged text too.
                for e in table[surface]:
                    if (
                        e.kind == "sector"
                        and raw.get("category") == "product"
                        and {str(raw["id"]), str(raw["zh"])} & names.get(e.code, set())
                    ):
                        sector_forms.setdefault(e.code, entry.forms)
                table[surface] = [
                    dataclasses.replace(e, forms=entry.forms) if e.kind == "sector" and not e.forms else e
                    for e in table[surface]
                ]
            else:
                _add(table, surface, entry)
    return sector_forms


def _with_sector_forms(table: _Table, sector_forms: Mapping[str, tuple[str, ...]]) -> None:
    """Every word of a sector (锂电池, not only 电池) carries the glossary's words for the sector."""
    for surface, entries in table.items():
        table[surface] = [
            dataclasses.replace(e, forms=sector_forms[e.code])
            if e.kind == "sector" and not e.forms and e.code in sector_forms
            else e
            for e in entries
        ]


def _hs_surfaces(zh: _Table) -> None:
    """HS subheadings by a name of theirs a reader may type whole: the full Chinese name, or a part
    of it between punctuation, of at least _HS_MIN_CHARS characters, shared by few subheadings."""
    from classifiers.hs_catalogue import load_catalogue

    parts: dict[str, list[str]] = {}
    for code, name in load_catalogue().items():
        for part in {name.name_zh, *re.split(r"[；;，,、：:（）()\s]+", name.name_zh)}:
            # 其他… (other …) names only mean something under their heading.
            if len(part) >= _HS_MIN_CHARS and _CJK.fullmatch(part) and not part.startswith("其他"):
                parts.setdefault(part, []).append(code)
    for part, codes in parts.items():
        if len(codes) <= _HS_MAX_CODES and part not in zh:
            _add(zh, part, _Entry("hs", "/".join(sorted(codes)), part, tuple(sorted(codes))))


@functools.lru_cache(maxsize=1)
def vocabulary() -> _Vocabulary:
    """Every surface the recogniser knows, built from the reference data on first use."""
    zh: _Table = {}
    en: _Table = {}
    # Order matters: sectors first (where the glossary says the same, 玩具, the sector reading wins),
    # HS names last (only where nothing else reads the words).
    _sector_surfaces(zh, en)
    _country_surfaces(zh)
    sector_forms = _glossary_surfaces(zh, en)
    _with_sector_forms(zh, sector_forms)
    _with_sector_forms(en, sector_forms)
    stems = {k: _merged_sectors(v) for k, v in _stem_surfaces(zh).items()}
    _hs_surfaces(zh)
    frozen_zh = {k: _merged_sectors(v) for k, v in zh.items()}
    frozen_en = {k: _merged_sectors(v) for k, v in en.items()}
    return _Vocabulary(
        zh=frozen_zh,
        en=frozen_en,
        zh_longest=max(len(k) for k in frozen_zh),
        en_longest=max([*(len(k) for k in frozen_en), *(len(k) for k in stems)]),
        stems=stems,
    )


def _merged_sectors(entries: list[_Entry]) -> tuple[_Entry, ...]:
    """A word that several sectors list (窗帘: textiles and furniture) is one reading, either sector:
    two readings would each be required, and a curtain recall tagged textiles only would fail one."""
    sectors = [e for e in entries if e.kind == "sector"]
    if len(sectors) < 2:
        return tuple(entries)
    merged = _Entry(
        "sector",
        "+".join(e.code for e in sectors),
        "/".join(e.label_zh for e in sectors),
        tuple(c for e in sectors for c in e.codes),
    )
    return (merged, *(e for e in entries if e.kind != "sector"))


def _match_cjk(run: str, whole_word: bool, vocab: _Vocabulary) -> tuple[list[tuple[str, _Entry]], list[str]]:
    """Greedy longest matches in one run of Chinese characters: (words, entry) pairs, leftovers.

    A single character left beside a recognised word modifies it (电 in 电烤箱, 童 in 童玩具) and belongs
    to it: searched on its own it would have to appear in the measure, a phrase of one character."""
    found: list[tuple[str, _Entry]] = []
    rest: list[str] = []
    pending = ""
    i = 0
    while i < len(run):
        for size in range(min(vocab.zh_longest, len(run) - i), 0, -1):
            surface = run[i : i + size]
            if surface in vocab.zh and (size > 1 or (whole_word and len(run) == 1)):
                break
        else:
            pending += run[i]
            i += 1
            continue
        start = i
        if len(pending) == 1:
            start -= 1
        elif pending:
            rest.append(pending)
        pending = ""
        end = i + size
        # A generic head after a recognised word is part of it (电子产品 is 电子, not 电子 + 产品).
        head = next((h for h in _GENERIC_HEADS if run.startswith(h, end)), None)
        if head and run[i:end] not in _GENERIC_HEADS:
            end += len(head)
        found += [(run[start:end], entry) for entry in vocab.zh[surface]]
        i = end
    if len(pending) == 1 and found:
        last = found[-1][0]
        found = [(words + pending if words == last else words, entry) for words, entry in found]
    elif pending:
        rest.append(pending)
    return found, rest


def _match_words(words: Sequence[str], vocab: _Vocabulary) -> tuple[list[tuple[str, _Entry]], list[str]]:
    """Greedy longest matches over words: English (a plural, toys, is its singular), then the
    glossary's French, Spanish and Russian stems."""
    found: list[tuple[str, _Entry]] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(vocab.en_longest, len(words) - i), 0, -1):
            span = tuple(words[i : i + size])
            entries = vocab.en.get(span) or vocab.en.get((*span[:-1], _singular(span[-1]))) or _stem_match(span, vocab)
            if entries:
                found.extend((" ".join(span), e) for e in entries)
                i += size
                break
        else:
            rest.append(words[i])
            i += 1
    return found, rest


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "ch", "sh")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def interpret(query: str | None, ignore: Iterable[str] = ()) -> Interpretation:
    """What ``query`` names, and the words left over; items whose key is in ``ignore`` stay words.

    One search reads its query four or five times (the words, the kNN filter, the facets, the
    answer), so readings are kept: treat the answer as read-only."""
    with span("understand"):
        return _interpret((query or "").strip(), tuple(sorted(set(ignore))))


def forget_readings() -> None:
    """Drop the kept readings (a benchmark times each query as a new one)."""
    _interpret.cache_clear()


@functools.lru_cache(maxsize=4096)
def _interpret(text: str, ignore: tuple[str, ...]) -> Interpretation:
    ignored = list(ignore)
    if not text or _SYNTAX.search(text):
        return Interpretation(query=text, free_text=text, ignored=ignored)
    from classifiers.language import simplified_chinese

    vocab = vocabulary()
    items: dict[str, Recognised] = {}
    rest: list[str] = []
    # Taiwan and Hong Kong staff type Traditional characters; the vocabulary is Simplified.
    # Words run on across spaces (electric shock, choc électrique are one reading); a Chinese run
    # ends them.
    words: list[str] = []
    for token in simplified_chinese(text).split():
        for piece in re.split(f"({_CJK.pattern})", token):
            if not piece:
                continue
            if _CJK.fullmatch(piece):
                if words:
                    _collect(_match_words(words, vocab), items, rest, ignored)
                    words = []
                _collect(_match_cjk(piece, whole_word=(piece == token), vocab=vocab), items, rest, ignored)
            else:
                words.extend(_en_words(piece))
    if words:
        _collect(_match_words(words, vocab), items, rest, ignored)
    found = list(items.values())
    left = [w for w in rest if not (found and w in _FILLERS)]
    return Interpretation(query=text, items=found, free_text=" ".join(left), ignored=ignored)


_Matches = tuple[list[tuple[str, _Entry]], list[str]]


def _collect(matches: _Matches, items: dict[str, Recognised], rest: list[str], ignored: list[str]) -> None:
    found, leftovers = matches
    rest.extend(leftovers)
    for surface, entry in found:
        key = f"{entry.kind}:{entry.code}"
        if key in ignored:
            if surface not in rest:
                rest.append(surface)
            continue
        if key in items:
            item = items[key]
            if surface not in item.text.split():
                item.text = f"{item.text} {surface}"
            continue
        items[key] = Recognised(
            kind=entry.kind,
            code=entry.code,
            text=surface,
            label_zh=entry.label_zh,
            codes=list(entry.codes),
            forms=list(entry.forms),
        )
