"""The multilingual glossary (``terms.yml`` beside this file): Chinese renderings of product types,
hazards, measure types and regulatory terms, and the forms to find them in zh/en/fr/es/ru/ar text.

The gist uses it to say in Chinese what a foreign measure is about without pretending to translate it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

GLOSSARY_FILE = Path(__file__).resolve().parent / "terms.yml"
LANGUAGES = ("en", "fr", "es", "ru", "ar")
CATEGORIES = ("product", "hazard", "measure", "term", "objective", "risk_level")


@dataclass(frozen=True)
class Term:
    id: str
    category: str
    zh: str
    forms: dict[str, tuple[str, ...]]
    source: str
    pattern: re.Pattern[str]
    by_language: dict[str, re.Pattern[str]]

    def found_in(self, text: str, preferred: str | None = None) -> str | None:
        """The language whose form occurs in ``text`` (``preferred`` first), or None."""
        order = ([preferred] if preferred in self.by_language else []) + list(self.by_language)
        return next((lang for lang in order if lang and self.by_language[lang].search(text)), None)

    def label(self, lang: str = "en") -> str:
        """The first form in ``lang`` (or English) without its markers, for «zh en» glosses."""
        forms = self.forms.get(lang) or self.forms.get("en") or ()
        return forms[0].replace("!", "").strip() if forms else ""


@dataclass(frozen=True)
class Glossary:
    terms: tuple[Term, ...]
    sources: dict[str, str]

    def find(self, text: str | None, *, categories: tuple[str, ...] = CATEGORIES) -> list[Term]:
        """Terms found in ``text``, in glossary order, each once."""
        if not text:
            return []
        return [t for t in self.terms if t.category in categories and t.pattern.search(text)]

    def term(self, term_id: str) -> Term:
        for t in self.terms:
            if t.id == term_id:
                return t
        raise KeyError(f"{term_id!r} is not in {GLOSSARY_FILE}; add it there or use an existing id")


def _form_regex(form: str, lang: str) -> str:
    words = re.findall(r"[^\W_]+!?|\(|\)", form.strip())
    if not words:
        raise ValueError(f"{GLOSSARY_FILE}: form {form!r} has no words")
    parts = []
    for word in words:
        exact = word.endswith("!")
        core = re.escape(word.rstrip("!"))
        if lang == "ar":
            parts.append(core)
        else:
            # A word start, the stem, then either the rest of the word or (exact) a word end.
            parts.append(rf"(?<!\w){core}" + (r"(?!\w)" if exact else r"\w*"))
    return r"[\W_]*".join(parts)


def _term(raw: dict[str, object], sources: dict[str, str]) -> Term:
    term_id = str(raw.get("id", ""))
    category = str(raw.get("category", ""))
    zh = str(raw.get("zh", ""))
    source = str(raw.get("source", ""))
    if not term_id or category not in CATEGORIES or not zh:
        raise ValueError(f"{GLOSSARY_FILE}: term {raw!r} needs an id, a category in {CATEGORIES} and zh")
    if source not in sources:
        raise ValueError(f"{GLOSSARY_FILE}: term {term_id} names source {source!r}; add it under `sources`")
    forms: dict[str, tuple[str, ...]] = {}
    by_language: dict[str, re.Pattern[str]] = {}
    for lang in LANGUAGES:
        value = raw.get(lang) or []
        if not isinstance(value, list):
            raise ValueError(f"{GLOSSARY_FILE}: term {term_id}, {lang} must be a list of forms")
        forms[lang] = tuple(str(v) for v in value)
        if forms[lang]:
            by_language[lang] = re.compile("|".join(f"(?:{_form_regex(v, lang)})" for v in forms[lang]), re.IGNORECASE)
    regexes = [re.escape(zh)] + [p.pattern for p in by_language.values()]
    pattern = re.compile("|".join(f"(?:{r})" for r in regexes), re.IGNORECASE)
    return Term(term_id, category, zh, forms, source, pattern, by_language)


@functools.lru_cache(maxsize=1)
def load_glossary() -> Glossary:
    """Read and check ``terms.yml`` (cached: the file is part of the release)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when libyaml is there: 10x faster
    data = yaml.load(GLOSSARY_FILE.read_text(encoding="utf-8"), Loader=loader)
    sources = {str(k): str(v) for k, v in data["sources"].items()}
    terms = tuple(_term(raw, sources) for raw in data["terms"])
    ids = [t.id for t in terms]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"{GLOSSARY_FILE}: duplicate term ids {sorted(duplicates)}; merge them")
    return Glossary(terms=terms, sources=sources)
