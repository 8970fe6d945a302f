"""Labelled multilingual training records read from the customs nomenclatures in ``shared/data``.

Every line of a customs tariff carries an HS-based code, so through the project's HS → sector
table (``taxonomy.sectors_for_hs``) it is a labelled product description in its language:
Chinese (the Taiwan tariff, converted to Simplified), Korean, Vietnamese, Brazilian
Portuguese, Japanese and the 23 languages of the EU Combined Nomenclature. The Vietnamese
import declarations are the one set of real trade-style product text among them.

Nomenclature leaves often read just "Other"; a record must stand on its own, so such a leaf
is joined with its ancestors' text ("Toys > Other"). All records of one HS heading share the
group ``hs:NNNN`` whatever the source or language, so parallel translations of a heading can
never land in both the training and the test split. See :func:`nomenclature_records`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import re
import tarfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from classifiers.taxonomy import CROSS_SECTOR, Taxonomy, load_taxonomy
from classifiers.training_data import LabelledRecord, _norm, default_data_dir
from tbt_alert.errors import ClassifierError

NOMENCLATURE_DIR = "nomenclature"
SAMPLE_SEED = 20260101
MAX_TITLE = 300
# The shortest a farther ancestor is cut to when a joined title must fit MAX_TITLE.
_MIN_SEGMENT = 40
EU_LANGUAGES = (
    "bg cs da de el es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv".split()  # noqa: SIM905
)
# Words that make a short leaf a bare "other" (the EU languages go by the English label instead).
_OTHER_WORDS = frozenset(
    {"other", "others", "기타", "khác", "outros", "outras", "outro", "outra", "其他", "其它", "その他"}
)
_DEPTH_MARKS = re.compile(r"^[\s\-−–－―]+")
# Japanese item numbers: "1 ", "(2)", "B ", "(a)", "*〔1〕" before the text.
_JP_NUMBER = re.compile(r"^[\s*−\-－]*(?:[(（〔][0-9０-９A-Za-z]{1,2}[)）〕]|[0-9０-９A-Z]{1,2}(?=\s))?[\s−\-－]*")
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>")
_PAREN_TAIL = re.compile(r"\s*\([^()]*\)\s*$")

Labeller = Callable[[str], tuple[str, ...]]
ANY_CODE = "*"  # the label of every line when read without a taxonomy (see ``labeller``)


# --- text helpers ----------------------------------------------------------------------


def clean_text(text: object) -> str:
    """Whitespace collapsed, HTML tags and leading depth dashes removed: the bare line text."""
    value = _TAGS.sub("", str(text or ""))
    return _DEPTH_MARKS.sub("", " ".join(value.split())).strip()


def is_uninformative(text: str) -> bool:
    """True for a leaf that says nothing alone: three words or fewer, or a short "other ..." line.

    Joining a few informative leaves with their parents too is harmless (more context);
    leaving a bare "Other" alone would teach the classifier nothing.
    """
    words = _norm(_PAREN_TAIL.sub("", text)).split()
    if len(words) <= 3:
        return True
    return len(words) <= 5 and any(w in _OTHER_WORDS for w in words)


def compose(leaf: str, ancestors: Iterable[str], *, always: bool = False) -> str:
    """The leaf made self-contained: nearest ancestors joined with " > " until one is informative.

    ``ancestors`` go nearest first. With ``always`` the whole path is joined (the Japanese
    tree, whose intermediate lines are conditions rather than products). The title is kept
    within MAX_TITLE characters by shortening the farthest ancestors first, never the leaf.
    """
    path: list[str] = []
    if always or is_uninformative(leaf):
        for text in ancestors:
            if text and (not path or path[-1] != text) and text != leaf:
                path.append(text)
                if not always and not is_uninformative(text):
                    break
    segments = [*reversed(path), leaf]
    return _fit(segments)


def self_contained(leaf: str, ancestors: Iterable[str], *, always: bool = False) -> str:
    """:func:`compose`, or "" when a bare "other" leaf found no ancestor to explain it.

    The readers drop such rows: a lone "기타" or "Loại khác" would be a label with no text.
    A short but meaningful leaf with no ancestor ("당나귀", asses) is kept.
    """
    title = compose(leaf, ancestors, always=always)
    words = set(_norm(_PAREN_TAIL.sub("", leaf)).split())
    return "" if title == leaf and words <= _OTHER_WORDS | {"loại"} else title


def _fit(segments: list[str]) -> str:
    """Segments joined with " > ", the farthest ones cut (with "…") until the title fits."""
    segments = list(segments)
    for i in range(len(segments) - 1):
        excess = len(" > ".join(segments)) - MAX_TITLE
        if excess <= 0:
            break
        keep = max(_MIN_SEGMENT, len(segments[i]) - excess - 1)
        if keep < len(segments[i]):
            segments[i] = segments[i][:keep].rstrip() + "…"
    title = " > ".join(s for s in segments if s)
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


def _digits(code: object) -> str:
    return re.sub(r"\D", "", str(code or ""))


# --- records ---------------------------------------------------------------------------


def labeller(taxonomy: Taxonomy | None) -> Labeller:
    """Sector codes of an HS code's first six digits (cross_sector dropped), cached per call.

    Without a taxonomy every line counts, labelled ``ANY_CODE``: the HS suggester reads the
    lines of every chapter (food and live animals too), by code, not by sector.
    """
    cache: dict[str, tuple[str, ...]] = {}
    if taxonomy is None:
        return lambda digits: (ANY_CODE,)

    def labels(digits: str) -> tuple[str, ...]:
        key = digits[:6]
        if key not in cache:
            found = {s.code for s, _ in taxonomy.sectors_for_hs(key) if s.code != CROSS_SECTOR}
            cache[key] = tuple(sorted(found))
        return cache[key]

    return labels


class _Maker:
    """Builds the records of one (source, language): labels, unique keys, the heading group."""

    def __init__(self, source: str, language: str, labels: Labeller, kind: str = "nomenclature") -> None:
        self.source, self.language, self.kind, self.labels = source, language, kind, labels
        self._seen: dict[str, int] = defaultdict(int)

    def make(self, code: object, title: str, description: str = "") -> LabelledRecord | None:
        """A record, or None for a row without a usable code, text or sector (out of scope)."""
        digits = _digits(code)
        title = _fit([title]) if title else ""
        labels = self.labels(digits) if len(digits) >= 6 else ()
        if not title or not labels:
            return None
        key = f"{self.source}:{self.language}:{digits}"
        self._seen[key] += 1
        if self._seen[key] > 1:
            key = f"{key}:{self._seen[key]}"
        return LabelledRecord(
            key=key,
            source=self.source,
            source_kind=self.kind,
            language=self.language,
            title=title,
            description=description,
            # No hs_codes: the label is the code's sectors, and given the code the HS rules
            # would answer for the text; the record teaches and tests reading the product.
            labels=labels,
            group=f"hs:{digits[:4]}",
            code=digits,
        )


def _keep(records: Iterable[LabelledRecord | None]) -> Iterator[LabelledRecord]:
    return (r for r in records if r is not None)


def _path(data_dir: Path, *parts: str) -> Path:
    """The file under ``nomenclature/``; a ClassifierError naming it when it is absent."""
    path = data_dir.joinpath(NOMENCLATURE_DIR, *parts)
    if not path.is_file():
        raise ClassifierError(f"the nomenclature file {path} is missing; restore shared/data/{NOMENCLATURE_DIR}.")
    return path


def _read_json(path: Path) -> Any:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


# --- sources ---------------------------------------------------------------------------


def tw_tariff(data_dir: Path, taxonomy: Taxonomy | None) -> Iterator[LabelledRecord]:
    """Taiwan tariff: Chinese converted to Simplified (source tw_tariff) and English (tw_tariff_en).

    The lines are full self-contained descriptions, so nothing is joined. Mainland China
    publishes no tariff with full descriptions, hence the conversion (OpenCC t2s).
    """
    from opencc import OpenCC  # no py.typed; imported here, not at import

    converter = OpenCC("t2s")
    labels = labeller(taxonomy)
    zh, en = _Maker("tw_tariff", "zh", labels), _Maker("tw_tariff_en", "en", labels)
    chinese = _tw_lines(_path(data_dir, "tw_tariff", "note_10_C.txt.gz"))
    english = _tw_lines(_path(data_dir, "tw_tariff", "note_10_E.txt.gz"))
    for (code, text_zh), (code_en, text_en) in zip(chinese, english, strict=True):
        if code != code_en:
            raise ClassifierError(f"the Taiwan tariff files are not line-parallel at {code} / {code_en}.")
        yield from _keep([zh.make(code, str(converter.convert(text_zh))), en.make(code, text_en)])


def _tw_lines(path: Path) -> Iterator[tuple[str, str]]:
    """(code, text) of each ``<code> <text>`` line after the ``HS_NO NOTE`` header."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            code, _, text = line.strip().partition(" ")
            if code.isdigit():
                yield code, clean_text(text)


def kr_hsk(data_dir: Path, taxonomy: Taxonomy | None, *, english: bool = True) -> Iterator[LabelledRecord]:
    """Korean HSK table (kr_hsk, ko), and its English column (kr_hsk_en) when ``english``.

    Ancestors are the rows whose code is a shorter prefix of the row's code. They are always
    joined: Korean leaves are mostly conditions ("플라스틱으로 만든 것", made of plastics). A
    기타/Other leaf with no such row (its parent line is not in the table) is dropped.
    """
    with gzip.open(_path(data_dir, "kr_hsk", "hscode.csv.gz"), "rt", encoding="utf-8-sig") as fh:
        rows = [(r[0].strip(), clean_text(r[1]), clean_text(r[2])) for r in csv.reader(fh) if r and r[0].isdigit()]
    labels = labeller(taxonomy)
    columns = [(1, _Maker("kr_hsk", "ko", labels))]
    if english:
        columns.append((2, _Maker("kr_hsk_en", "en", labels)))
    for column, maker in columns:
        texts = {row[0]: row[column] for row in rows}
        for row in rows:
            code, leaf = row[0], row[column]
            ancestors = [texts[code[:n]] for n in range(len(code) - 1, 3, -1) if code[:n] in texts]
            yield from _keep([maker.make(code, self_contained(leaf, ancestors, always=True))])


def vn_tariff(data_dir: Path, taxonomy: Taxonomy | None) -> Iterator[LabelledRecord]:
    """Vietnamese tariff lines (vn_tariff, vi), depth markers stripped.

    The file holds only the 8-digit leaves, not their parent lines, so a "Loại khác" leaf
    takes as context the nearest preceding shallower lines of the same 7-digit group (the
    closest stand-in for the missing parent); with none it says nothing and is dropped.
    """
    maker = _Maker("vn_tariff", "vi", labeller(taxonomy))
    previous: list[tuple[str, int, str]] = []  # (code, depth, text) of the heading so far
    for row in _read_json(_path(data_dir, "vn_tariff", "search.json.gz")):
        code, raw = _digits(row.get("hs")), str(row.get("vn") or "")
        if previous and previous[-1][0][:4] != code[:4]:
            previous = []
        marker = raw[: len(raw) - len(raw.lstrip(" -"))]
        depth, leaf = marker.count("-"), clean_text(raw)
        ancestors = _vn_context(previous, code, depth)
        previous.append((code, depth, leaf))
        yield from _keep([maker.make(code, self_contained(leaf, ancestors))])


def _vn_context(previous: list[tuple[str, int, str]], code: str, depth: int) -> list[str]:
    """Texts of the preceding lines of ever smaller depth sharing the first 7 digits, nearest first."""
    context: list[str] = []
    for other, other_depth, text in reversed(previous):
        if other[:7] != code[:7]:
            break
        if other_depth < depth:
            context.append(text)
            depth = other_depth
    return context


def vn_declarations(data_dir: Path, taxonomy: Taxonomy | None) -> Iterator[LabelledRecord]:
    """Real Vietnamese import declarations of Chinese-made goods (vn_declarations, vi).

    Title is the declared goods name (``tenHang``, else the declared line ``sampleDesc``),
    description the declared material and use: trade-style text, unlike the tariffs. The
    code is the importer's, not a customs ruling.
    """
    maker = _Maker("vn_declarations", "vi", labeller(taxonomy), kind="declaration")
    with gzip.open(_path(data_dir, "vn_tariff", "oz-gold-final.jsonl.gz"), "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            title = clean_text(row.get("tenHang")) or clean_text(row.get("sampleDesc"))
            description = "; ".join(t for t in (clean_text(row.get("chatLieu")), clean_text(row.get("congDung"))) if t)
            yield from _keep([maker.make(row.get("hsCode"), title, description)])


def br_ncm(data_dir: Path, taxonomy: Taxonomy | None) -> Iterator[LabelledRecord]:
    """Brazilian NCM (br_ncm, pt): the 8-digit items, "Outros" leaves joined with their parents."""
    rows = _read_json(_path(data_dir, "br_ncm", "ncm.json.gz"))["Nomenclaturas"]
    texts = {_digits(r["Codigo"]): clean_text(r["Descricao"]).rstrip(".") for r in rows}
    maker = _Maker("br_ncm", "pt", labeller(taxonomy))
    for code, leaf in texts.items():
        if len(code) != 8 or not leaf:
            continue
        ancestors = [texts[code[:n]] for n in range(7, 3, -1) if code[:n] in texts]
        yield from _keep([maker.make(code, self_contained(leaf, ancestors))])


def jp_tariff(data_dir: Path, taxonomy: Taxonomy | None) -> Iterator[LabelledRecord]:
    """Japanese tariff (jp_tariff, ja): each statistical code with the whole path of its tree.

    The tree's inner lines are mostly conditions ("その他のもの", quota limits), so the path
    from the heading down is always joined. Read straight from the tar, nothing extracted.
    """
    maker = _Maker("jp_tariff", "ja", labeller(taxonomy))
    with tarfile.open(_path(data_dir, "jp_tariff", "tariffdata.tar.gz"), "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not (member.isfile() and Path(member.name).name.startswith("j_")):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            tree = json.load(io.TextIOWrapper(handle, encoding="utf-8"))
            for code, leaf, ancestors in _jp_leaves(tree, []):
                yield from _keep([maker.make(code, compose(leaf, ancestors, always=True))])


def _jp_leaves(nodes: list[dict[str, Any]], path: list[str]) -> Iterator[tuple[str, str, list[str]]]:
    """(code, text, ancestor texts nearest first) of every node that carries a statistical code."""
    for node in nodes:
        text = clean_text(_JP_NUMBER.sub("", str(node.get("desc") or "")))
        if node.get("hs_code"):
            yield _digits(node.get("stat_code")) + _digits(node["hs_code"]), text, list(reversed(path))
        yield from _jp_leaves(node.get("children") or [], [*path, text] if text else path)


def eu_cn(
    data_dir: Path, taxonomy: Taxonomy | None, languages: Iterable[str] = EU_LANGUAGES, *, english: bool = True
) -> Iterator[LabelledRecord]:
    """EU Combined Nomenclature 2026 in each official language (eu_cn_2026) and English (eu_cn_2026_en).

    Texts are the official translations of the English labels. Whether a CN8 name needs its
    subheading and heading is decided on the English label (three words or fewer, or an
    "other" in it), the same for every language, so the translations stay parallel; a name
    that needs them gets both, as CN subheadings are often bare conditions ("In containers
    holding 2 litres or less").
    """
    codes = _read_json(_path(data_dir, "eu_cn_2026", "cnCodes_2026.json.gz"))
    parents = {r["code"]: r["name"] for r in _read_json(_path(data_dir, "eu_cn_2026", "cnHeadings_2026.json.gz"))}
    subheadings = _read_json(_path(data_dir, "eu_cn_2026", "cnSubheadings_2026.json.gz"))
    parents.update({r["code"]: r["name"] for r in subheadings})
    paths = [(c["code"], _eu_path(c, parents)) for c in codes]
    labels = labeller(taxonomy)
    tables = [("eu_cn_2026_en", "en")] if english else []
    tables += [("eu_cn_2026", lang) for lang in languages]
    for source, language in tables:
        table = _eu_messages(data_dir, language) if language != "en" else {}
        maker = _Maker(source, language, labels)
        for code, english_path in paths:
            segments = [clean_text(table.get(s, s)) for s in english_path]
            yield from _keep([maker.make(code, _fit(segments))])


def _eu_path(code: dict[str, Any], parents: dict[str, str]) -> list[str]:
    """English labels from the farthest needed ancestor to the CN8 name."""
    name = str(code["name"])
    path = [name]
    if is_uninformative(name) or "other" in name.lower().split():
        for parent in (code.get("subheading"), code["code"][:6], code.get("heading"), code["code"][:4]):
            if parent in parents and parents[parent] not in path:
                path.insert(0, parents[parent])
    return path


def _eu_messages(data_dir: Path, language: str) -> dict[str, str]:
    """English label → official translation for one language (the YAML, gzipped or not)."""
    folder = data_dir / NOMENCLATURE_DIR / "eu_cn_2026" / "translations"
    plain = folder / f"messages_{language}.yaml"
    path = plain if plain.is_file() else _path(data_dir, "eu_cn_2026", "translations", f"messages_{language}.yaml.gz")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        loaded = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(loaded, dict):
        raise ClassifierError(f"{path} is not a mapping of English labels to translations.")
    return {str(k): str(v) for k, v in loaded.items()}


# --- all of them -----------------------------------------------------------------------

READERS: tuple[Callable[[Path, Taxonomy | None], Iterator[LabelledRecord]], ...] = (
    vn_declarations,
    tw_tariff,
    kr_hsk,
    vn_tariff,
    br_ncm,
    jp_tariff,
    eu_cn,
)


def nomenclature_records(
    data_dir: Path | None = None, taxonomy: Taxonomy | None = None, *, per_source_language_cap: int | None = 1500
) -> list[LabelledRecord]:
    """Labelled records of every nomenclature, de-duplicated and capped per (source, language).

    The declarations come first, so a duplicate title keeps its trade-style record. The cap
    (0 or None: none) keeps embedding time bounded while every heading keeps examples.
    """
    data_dir = data_dir or default_data_dir()
    taxonomy = taxonomy or load_taxonomy()
    seen: set[tuple[str, str]] = set()
    by_source: dict[tuple[str, str], list[LabelledRecord]] = defaultdict(list)
    for reader in READERS:
        for record in reader(data_dir, taxonomy):
            key = (record.language, _norm(record.title))
            if key not in seen:
                seen.add(key)
                by_source[(record.source, record.language)].append(record)
    out: list[LabelledRecord] = []
    for records in by_source.values():
        out.extend(sample_by_heading(records, per_source_language_cap))
    return out


def sample_by_heading(records: list[LabelledRecord], cap: int | None) -> list[LabelledRecord]:
    """At most ``cap`` records, taken round-robin over the headings in a seeded shuffled order.

    Round-robin rather than a plain random sample so small headings (and so every sector)
    keep examples; the same seed for every (source, language) keeps the draw reproducible.
    """
    if not cap or len(records) <= cap:
        return list(records)
    rng = random.Random(SAMPLE_SEED)
    groups: dict[str, list[LabelledRecord]] = defaultdict(list)
    for record in records:
        groups[record.group].append(record)
    order = sorted(groups)
    rng.shuffle(order)
    queues = [groups[g] for g in order]
    for queue in queues:
        rng.shuffle(queue)
    chosen: list[LabelledRecord] = []
    depth = 0
    while len(chosen) < cap:
        chosen.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return chosen[:cap]
