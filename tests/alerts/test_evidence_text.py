"""The plain sentence a bulletin item and the measure page show for a sector tag (alerts.explain).

The evidence dictionaries are CONSTRUCTED in the shapes the classifier writes.
"""

from __future__ import annotations

from alerts.explain import evidence_sentence

MODEL_EVIDENCE = {
    "threshold": 0.41,
    "vector_score": 0.38,
    "lexical_score": 0.91,
    "terms": ["lithium", "power bank"],
    "neighbour_score": 1.0,
    "language_group": "latin",
    "nearest_examples": [
        {"example": "[eu_safety_gate] Power bank | Portable charger with lithium cells", "similarity": 0.93},
    ],
}


def test_model_evidence_reads_as_words_and_examples_without_scores() -> None:
    zh = evidence_sentence("model", MODEL_EVIDENCE, "zh")
    assert zh == "文中「lithium」「power bank」等词是该行业措施的常用词；内容与已归入该行业的「Power bank」相近"
    en = evidence_sentence("model", MODEL_EVIDENCE, "en")
    assert "“Power bank”" in en
    for shown in (zh, en):
        for hidden in ("0.9", "0.4", "latin", "{", "["):
            assert hidden not in shown


def test_matched_keywords_come_before_the_model_terms() -> None:
    evidence = {**MODEL_EVIDENCE, "keywords": ["coffee maker", "kettle"]}
    assert evidence_sentence("model", evidence, "zh").startswith("文中出现「coffee maker」「kettle」；")


def test_code_evidence_names_the_codes_dotted() -> None:
    assert evidence_sentence("hs", {"hs_codes": ["950300"], "rule_prefixes": ["9503"]}, "zh") == (
        "来源申报的 HS 9503.00 属于该行业"
    )
    assert evidence_sentence("ics", {"ics_codes": ["43.020"]}, "en").startswith("The source gives ICS 43.020")


def test_empty_evidence_still_says_who_judged() -> None:
    assert evidence_sentence("manual", {}, "zh") == "人工标注"
    assert evidence_sentence("model", {"threshold": 0.5}, "zh") == "模型依据全文判断"
