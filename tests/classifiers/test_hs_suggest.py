"""The HS suggester: Chinese names, level pooling, held-out masks, the classifier's version,
and the rule that a suggestion never replaces a source's codes.

Vectors here are CONSTRUCTED (a few hand-placed unit vectors) so each rule is checked
exactly; the real index is checked in test_real_encoder.py and scored by `tbt-alert
evaluate --hs`.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifiers.classifier import Classifier
from classifiers.hs_catalogue import _taiwan_lines, chinese_name, dotted, hs_name, load_catalogue
from classifiers.hs_suggest import HsIndex, SuggestParams
from classifiers.hs_threshold import match_threshold
from classifiers.hs_train import Cases, CodedText, accuracy, eping_codes, match_threshold_for, without_codes
from tbt_alert.errors import ClassifierError


def _axis(dim: int, *weights: tuple[int, float]) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    for i, w in weights:
        v[i] = w
    return v / np.linalg.norm(v)


def _index(params: SuggestParams | None = None, dim: int = 32) -> HsIndex:
    """Texts on two directions: electro-thermic appliances (8516.71/79/72) and toys (9503)."""
    vectors = np.stack(
        [
            _axis(dim, (0, 1.0)),
            _axis(dim, (0, 1.0), (1, 0.1)),
            _axis(dim, (0, 0.9), (2, 0.5)),
            _axis(dim, (3, 1.0)),
            _axis(dim, (3, 1.0), (4, 0.2)),
        ]
    )
    codes = ["851671", "851679", "851672", "950300", "9503"]
    index = HsIndex.fit(
        vectors, codes, ["hs"] * 5, ["en"] * 5, params=params or SuggestParams(k=5, temperature=0.05), dimensions=dim
    )
    return index


def test_taiwan_text_is_converted_to_simplified_chinese_and_split_subheadings_joined(tmp_path: Path) -> None:
    folder = tmp_path / "nomenclature" / "tw_tariff"
    folder.mkdir(parents=True)
    with gzip.open(folder / "note_10_C.txt.gz", "wt", encoding="utf-8") as fh:
        # CONSTRUCTED lines in the file's format, with Taiwan's own misprint 壼 for 壺.
        fh.write("HS_NO       NOTE\n8516710000 電咖啡壼或茶壼\n8516291000 土壤電加熱器\n8516299090 其他空間電加熱器\n")
    lines = _taiwan_lines(tmp_path)
    assert lines["851671"] == ["电咖啡壶或茶壶"]
    assert chinese_name(lines["851629"]) == "土壤电加热器；其他空间电加热器"
    assert chinese_name(["一", "二", "三", "四"]) == "一；二；三等"


def test_committed_name_table_names_every_subheading_in_simplified_chinese() -> None:
    names = load_catalogue()
    assert len(names) == 5613  # every HS 2022 subheading
    kettle = hs_name("8516.71.00.00")
    assert kettle is not None
    assert kettle.name_zh.startswith("电咖啡壶或茶壶")
    assert kettle.name_en.startswith("Electro-thermic appliances; coffee or tea makers")
    assert kettle.dotted == "8516.71"
    # Traditional characters of the source are gone (電 → 电, 機 → 机, 裝 → 装).
    assert not any(ch in n.name_zh for n in names.values() for ch in "電機裝")
    # A subheading new in HS 2022 is named after its HS 2017 predecessor, and says so.
    assert names["040320"].zh_basis.startswith("tw:hs2017:")
    assert hs_name("85") is None
    assert dotted("851671") == "8516.71"


def test_votes_are_pooled_by_level_and_suggestions_lie_under_different_headings() -> None:
    index = _index()
    query = _axis(32, (0, 1.0), (1, 0.05))[None, :]
    ranked = index.ranked(query)[0]
    assert [code for code, _ in ranked] == ["851671", "851679", "950300"]
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    same_heading = replace(index, params=SuggestParams(k=5, temperature=0.05, distinct_headings=False))
    assert [code for code, _ in same_heading.ranked(query)[0]] == ["851671", "851679", "851672"]
    # A heading-only text (9503) votes for its heading, never becomes a suggestion itself.
    assert all(len(code) == 6 for code, _ in ranked)


def test_a_mask_hides_texts_from_a_held_out_case() -> None:
    index = _index()
    query = _axis(32, (0, 1.0))[None, :]
    mask = np.array([[True, True, False, False, False]])
    assert index.ranked(query, mask=mask)[0][0][0] == "851672"


def test_index_round_trips_and_its_version_follows_its_contents(tmp_path: Path) -> None:
    index = _index()
    index.meta = {"match_threshold": 0.4}
    index.save(tmp_path / "a")
    loaded = HsIndex.load(tmp_path / "a")
    query = _axis(32, (3, 1.0))[None, :]
    assert [c for c, _ in loaded.ranked(query)[0]] == [c for c, _ in index.ranked(query)[0]]
    assert match_threshold(tmp_path / "a") == 0.4
    retuned = replace(index, params=SuggestParams(k=3), meta={"match_threshold": 0.4})
    retuned.save(tmp_path / "b")
    assert HsIndex.load(tmp_path / "b").version != loaded.version
    with pytest.raises(ClassifierError, match="tbt-alert train"):
        match_threshold(tmp_path / "missing")


def test_classifier_suggests_beside_source_codes_and_its_version_names_the_index(
    tiny_encoder_dir: Path, tiny_head_dir: Path, tmp_path: Path
) -> None:
    head_dir = tmp_path / "head"
    head_dir.mkdir()
    for f in tiny_head_dir.iterdir():
        (head_dir / f.name).write_bytes(f.read_bytes())
    without = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=head_dir)
    assert "-hs" not in without.version
    assert all(r.hs_suggested == [] for r in without.read([{"title": "electric kettle"}]))

    _index().save(head_dir)
    with_index = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=head_dir)
    assert with_index.version.startswith(without.version + "-hs")
    record = {"title": "electric toy", "hs_codes": ["9503.00"]}
    reading, empty = with_index.read([record, {"title": ""}])
    assert record["hs_codes"] == ["9503.00"]  # the source's codes are never touched
    assert 1 <= len(reading.hs_suggested) <= 3
    assert all(len(s.code) == 6 and s.name_zh and s.name_en for s in reading.hs_suggested)
    assert empty.hs_suggested == []  # no text, no vector, no suggestion
    assert {p.sector for p in reading.sectors} == {p.sector for p in with_index.classify([record])[0]}

    retuned = HsIndex.load(head_dir)
    retuned.params = SuggestParams(k=4)
    retuned.save(head_dir)
    assert Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=head_dir).version != with_index.version


def test_eping_codes_are_read_and_hidden_from_the_text() -> None:
    cell = "3210 - Other paints and varnishes; prepared water pigments; 051199 - Products of animal origin, n.e.s."
    assert eping_codes(cell) == ["3210", "051199"]
    assert eping_codes("34 - SOAP, ORGANIC SURFACE-ACTIVE AGENTS") == ["34"]
    assert without_codes("Petroleum jelly (HS code(s): 271210); Cosmetics (ICS code(s): 71.100)") == (
        "Petroleum jelly ; Cosmetics"
    )


def test_accuracy_counts_each_level_over_the_cases_that_know_it() -> None:
    ranked = [[("851671", 0.9), ("851672", 0.5)], [("950300", 0.8)], [("300490", 0.3)]]
    truths = [{"851672"}, {"9503"}, {"34"}]
    result = accuracy(ranked, truths)
    assert result.n == {2: 3, 4: 2, 6: 1}
    assert result.top1[4] == 1.0
    assert result.top1[6] == 0.0
    assert result.top3[6] == 1.0
    assert result.top3[2] == pytest.approx(2 / 3)


def test_match_threshold_is_the_lowest_score_keeping_heading_precision() -> None:
    ranked = [[("851671", 0.9)], [("851672", 0.8)], [("950300", 0.7)], [("300490", 0.2)], [("940510", 0.1)]]
    truths = [{"851679"}, {"851690"}, {"950300"}, {"9503"}, {"8516"}]
    threshold, share = match_threshold_for(ranked, truths)
    assert threshold == 0.7
    assert share == pytest.approx(3 / 5)


def test_cases_hide_by_their_rule() -> None:
    index = [
        CodedText("vn:1", "a", "851671", "vn_declarations", "vi"),
        CodedText("vn:2", "b", "950300", "vn_declarations", "vi"),
        CodedText("tw:1", "c", "851671", "tw_tariff", "zh"),
    ]
    chapter = Cases("c", "vi", ["x"], [{"851671"}], "chapter", ["85"])
    assert chapter.mask(index, [0]).tolist() == [[True, False, False]]
    source = Cases("s", "zh", ["x"], [{"851671"}], "source", ["tw_tariff"])
    assert source.mask(index, [0]).tolist() == [[False, False, True]]


def test_each_source_is_centred_so_a_query_finds_its_product_before_its_language() -> None:
    """CONSTRUCTED: Vietnamese declarations share a style axis (10) whatever they name; an
    English HS text names the query's product (axis 0). Uncentred, the style wins."""
    dim = 32
    style = (10, 2.0)
    vectors = np.stack(
        [
            _axis(dim, (3, 1.0), style),  # a declaration of toys
            _axis(dim, (5, 1.0), style),  # a declaration of footwear
            _axis(dim, (0, 1.0)),  # kettles, in English
            _axis(dim, (3, 1.0)),
            _axis(dim, (5, 1.0)),
        ]
    )
    codes = ["950300", "640299", "851671", "950300", "640299"]
    sources = ["vn_declarations", "vn_declarations", "hs", "hs", "hs"]
    languages = ["vi", "vi", "en", "en", "en"]
    index = HsIndex.fit(vectors, codes, sources, languages, params=SuggestParams(k=1, temperature=0.05), dimensions=dim)
    query = _axis(dim, (0, 1.0), style)[None, :]  # a Vietnamese text about a kettle
    assert index.ranked(query, ["vi"])[0][0][0] == "851671"
    raw = np.dot(vectors, query[0])
    assert codes[int(np.argmax(raw))] != "851671"  # what plain cosine would have answered


def test_the_word_index_is_built_once_and_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new process reads the TF-IDF matrix an earlier one built from the same texts (issue 25:
    it cost every process ~7 s on its first batch); other texts or a damaged file build anew."""
    from classifiers import hs_suggest, lexical
    from classifiers.lexical import LexicalVocabulary

    texts = [  # CONSTRUCTED product texts
        "electric water heaters and immersion heaters",
        "hair dryers and other electro-thermic hairdressing apparatus",
        "toys representing animals or non-human creatures",
        "tricycles, scooters, pedal cars and similar wheeled toys",
    ]
    built = []
    fit = LexicalVocabulary.fit

    def counted_fit(some: list[str]) -> LexicalVocabulary:
        built.append(len(some))
        return fit(some)

    monkeypatch.setattr(LexicalVocabulary, "fit", staticmethod(counted_fit))
    vocabulary, matrix = hs_suggest._lexical_matrix(texts, tmp_path)
    again, matrix_again = hs_suggest._lexical_matrix(texts, tmp_path)
    assert built == [4]
    assert (again.words, again.chars) == (vocabulary.words, vocabulary.chars)
    assert np.array_equal(again.idf, vocabulary.idf)
    assert (matrix_again != matrix).nnz == 0
    assert matrix.shape == (vocabulary.size, 4)

    hs_suggest._lexical_matrix(texts[:3], tmp_path)
    assert built == [4, 3]
    for cached in tmp_path.glob("*.npz"):
        cached.write_bytes(b"damaged")
    _, rebuilt = hs_suggest._lexical_matrix(texts, tmp_path)
    assert built == [4, 3, 4]
    assert (rebuilt != matrix).nnz == 0

    # Other featuriser rules name another file: the matrix built by the old rules is not read.
    monkeypatch.setattr(lexical, "CHAR_MIN_DF", lexical.CHAR_MIN_DF + 1)
    hs_suggest._lexical_matrix(texts, tmp_path)
    assert built == [4, 3, 4, 4]
    assert len(list(tmp_path.glob("*.npz"))) == 3
