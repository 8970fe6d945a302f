"""The nomenclature readers on the real shared data: languages, labels, self-contained text, groups, cap."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from classifiers.nomenclature import (
    EU_LANGUAGES,
    br_ncm,
    compose,
    eu_cn,
    jp_tariff,
    kr_hsk,
    nomenclature_records,
    tw_tariff,
)
from classifiers.taxonomy import load_taxonomy
from classifiers.training_data import LabelledRecord, default_data_dir
from tbt_alert.errors import ClassifierError

CAP = 1500
EXPECTED = {
    ("tw_tariff", "zh"),
    ("tw_tariff_en", "en"),
    ("kr_hsk", "ko"),
    ("vn_tariff", "vi"),
    ("vn_declarations", "vi"),
    ("br_ncm", "pt"),
    ("jp_tariff", "ja"),
    ("eu_cn_2026_en", "en"),
    *(("eu_cn_2026", lang) for lang in EU_LANGUAGES),
}


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = default_data_dir()
    assert (path / "nomenclature").is_dir(), f"shared data missing at {path}"
    return path


@pytest.fixture(scope="module")
def records(data_dir: Path) -> list[LabelledRecord]:
    return nomenclature_records(data_dir, per_source_language_cap=CAP)


@pytest.fixture(scope="module")
def by_key(records: list[LabelledRecord]) -> dict[str, LabelledRecord]:
    return {r.key: r for r in records}


def test_every_source_and_language_yields_records(records: list[LabelledRecord]) -> None:
    pairs = {(r.source, r.language) for r in records}
    assert pairs >= EXPECTED


def test_records_are_well_formed(records: list[LabelledRecord]) -> None:
    assert len({r.key for r in records}) == len(records)
    for r in records:
        assert r.labels
        assert r.labels == tuple(sorted(r.labels))
        assert "cross_sector" not in r.labels
        assert r.group.startswith("hs:")
        assert len(r.group) == 7
        assert 0 < len(r.title) <= 300
        assert not r.title.startswith("-")


def test_cap_is_respected_per_source_and_language(records: list[LabelledRecord]) -> None:
    counts = Counter((r.source, r.language) for r in records)
    assert max(counts.values()) <= CAP
    assert counts[("eu_cn_2026", "de")] == CAP


def test_no_duplicate_titles_per_language(records: list[LabelledRecord]) -> None:
    titles = Counter((r.language, " ".join(r.title.lower().split())) for r in records)
    assert max(titles.values()) == 1


def test_taiwan_chinese_is_simplified(data_dir: Path) -> None:
    toys = [r for r in tw_tariff(data_dir, load_taxonomy()) if r.language == "zh" and r.group == "hs:9503"]
    assert toys
    assert any("玩具" in r.title for r in toys)
    for r in toys:
        assert r.source == "tw_tariff"
        assert not set("製塑膠設計為輪車") & set(r.title)


def test_labels_follow_the_hs_table(records: list[LabelledRecord]) -> None:
    for r in records:
        if r.group == "hs:9503":
            assert "toys" in r.labels
        if r.group.startswith("hs:64"):
            assert "footwear_leather" in r.labels


def test_other_leaf_is_self_contained() -> None:
    assert compose("기타", ["완구"]) == "완구 > 기타"
    assert (
        compose("Outros", ["Outros", "Brinquedos de rodas para crianças"])
        == "Brinquedos de rodas para crianças > Outros"
    )
    assert compose("Dolls representing human beings", ["Toys"]) == "Dolls representing human beings"
    long = compose("Other", ["x" * 400])
    assert len(long) <= 300
    assert long.endswith(" > Other")


def test_other_leaves_in_the_data_carry_their_parents(records: list[LabelledRecord]) -> None:
    bare = {"기타", "Loại khác", "Outros", "Outras", "Other", "その他のもの"}
    assert not [r.key for r in records if r.title in bare]
    joined = [r for r in records if r.source == "br_ncm" and r.title.endswith("> Outros")]
    assert joined
    assert all(len(r.title) > len("Outros") + 3 for r in joined)


def test_known_other_leaves(data_dir: Path) -> None:
    taxonomy = load_taxonomy()
    brazil = {r.key: r for r in br_ncm(data_dir, taxonomy)}
    assert "Brinquedos que representem animais" in brazil["br_ncm:pt:95030039"].title
    korea = {r.key: r for r in kr_hsk(data_dir, taxonomy, english=False)}
    assert korea["kr_hsk:ko:9503002190"].title.startswith("사람모형의 인형")
    assert "kr_hsk:ko:6402190000" not in korea  # a bare 기타 whose parent line is not in the table
    japan = {r.key: r for r in jp_tariff(data_dir, taxonomy)}
    assert japan["jp_tariff:ja:640299090"].title.startswith("その他の履物")
    eu = {r.key: r for r in eu_cn(data_dir, taxonomy, ("de",), english=False)}
    other_toys = eu["eu_cn_2026:de:95030049"].title
    assert other_toys.endswith("> andere")
    assert other_toys.count(" > ") >= 1
    assert len(brazil) > CAP  # uncapped readers


def test_same_heading_has_same_group_across_languages(records: list[LabelledRecord]) -> None:
    groups: dict[str, set[str]] = {}
    for r in records:
        groups.setdefault(r.group, set()).add(r.language)
    assert any(len(langs) >= 10 for langs in groups.values())
    for r in records:
        digits = r.key.split(":")[2]
        assert r.group == f"hs:{digits[:4]}"


def test_declarations_are_trade_text(records: list[LabelledRecord]) -> None:
    declarations = [r for r in records if r.source == "vn_declarations"]
    assert declarations
    assert all(r.source_kind == "declaration" and r.language == "vi" for r in declarations)
    assert any(r.description for r in declarations)


def test_missing_file_raises_classifier_error(tmp_path: Path) -> None:
    (tmp_path / "nomenclature" / "kr_hsk").mkdir(parents=True)
    with pytest.raises(ClassifierError, match=r"oz-gold-final\.jsonl\.gz"):
        nomenclature_records(tmp_path)
    with pytest.raises(ClassifierError, match=r"kr_hsk/hscode\.csv\.gz"):
        list(kr_hsk(tmp_path, load_taxonomy()))
