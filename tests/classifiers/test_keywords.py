"""Keyword rules per language: the new matchers (ja, ko, ar, vi, pt, it, pl, tr), zh
additions, negatives that show a pattern is not too loose, and the literal pre-filter."""

from __future__ import annotations

import re

import pytest

from classifiers.keywords import KeywordRules, _literal, _pattern, keyword_rules
from classifiers.taxonomy import KEYWORD_LANGUAGES, load_taxonomy

NEW = {"ja", "ko", "ar", "vi", "pt", "it", "pl", "tr"}


@pytest.fixture(scope="module")
def rules() -> KeywordRules:
    return keyword_rules(load_taxonomy())


@pytest.mark.parametrize(
    ("text", "sector"),
    [
        # Japanese: substring
        ("除湿機の回収", "household_appliances"),
        ("電気ストーブの自主回収について", "household_appliances"),
        ("ぬいぐるみのリコール", "toys"),
        # Korean: substring (particles attach to nouns)
        ("어린이 장난감 리콜", "toys"),
        ("휴대용 선풍기를 회수합니다", "household_appliances"),
        ("유모차 제품 리콜", "childcare"),
        # Arabic: clitic prefixes, any suffix, alef forms folded
        ("اشتراطات القوابس والكابلات الكهربائية", "electronics_ict"),
        ("سحب ألعاب الأطفال من الأسواق", "toys"),
        ("استدعاء العاب اطفال", "toys"),
        ("لائحة فنية لمستحضرات التجميل", "cosmetics"),
        # Vietnamese: whole words
        ("đồ chơi nhựa mềm", "toys"),
        ("thu hồi máy sấy tóc", "household_appliances"),
        # Portuguese: plurals
        ("brinquedos de plástico", "toys"),
        ("recolha de carregadores USB", "electronics_ict"),
        ("recall de botões de pressão em roupas infantis", "textiles_apparel"),
        # Italian: plurals
        ("giocattoli", "toys"),
        ("richiamo di seggioloni per bambini", "childcare"),
        ("borse e zaini", "daily_commodities"),
        # Polish: stems
        ("zabawki dla dzieci", "toys"),
        ("wycofanie zabawek z rynku", "toys"),
        ("wycofanie ładowarek do telefonów", "electronics_ict"),
        # Turkish: stems, i/ı folding
        ("oyuncaklar", "toys"),
        ("Oyuncağın geri çağrılması", "toys"),
        ("ELEKTRİKLİ ISITICI geri çağırma", "household_appliances"),
        ("İlaçların ithalatı", "pharma_tcm"),
        # Chinese additions
        ("软塑料玩具", "toys"),
        ("儿童服装抽绳", "textiles_apparel"),
        ("童装召回", "textiles_apparel"),
        ("充电宝召回", "batteries"),
        ("儿童座椅召回", "auto_parts"),
        ("奶瓶", "food_contact"),
        ("邻苯二甲酸酯超标", "chemicals_plastics"),
        ("可溶性铅含量超标", "chemicals_plastics"),
        # cross_sector in the new languages
        ("適合性評価の手続", "cross_sector"),
        ("avaliação da conformidade", "cross_sector"),
        ("piyasa gözetimi ve denetimi", "cross_sector"),
    ],
)
def test_phrases_hit_their_sector(rules: KeywordRules, text: str, sector: str) -> None:
    assert sector in rules.matches(text), rules.matches(text)


@pytest.mark.parametrize(
    ("text", "sector"),
    [
        ("مدمية", "toys"),  # ar: "دمية" inside a longer word, not after a clitic
        ("ví dụ như cá nhân", "daily_commodities"),  # vi: "ví" is a wallet only as a whole word
        ("cá nhân", "food_agri"),  # vi: no single-syllable "cá"
        ("Kinderspiel", "toys"),  # it: "giocattolo" is not a prefix match
        ("brinquedoteca", "toys"),  # pt: whole words only
        ("stały nadzór", "metal_products"),  # pl: "stal" is not a bare stem
        ("yayın ve yaygın", "metal_products"),  # tr: no "yay"
        ("firing the projectiles", "household_appliances"),  # tr: folding does not reach English
        ("鉛筆", "chemicals_plastics"),  # zh/ja: pencil is not lead
        ("배터리 용량", "ships_marine"),  # ko: no single syllable "배"
        ("バスタオル", "auto_parts"),  # ja: a bath towel is not a bus
        ("years ago", "medical_devices"),
    ],
)
def test_phrases_do_not_hit_the_sector(rules: KeywordRules, text: str, sector: str) -> None:
    assert sector not in rules.matches(text), rules.matches(text)


def test_the_new_matchers() -> None:
    def hit(keyword: str, language: str, text: str) -> bool:
        return re.search(_pattern(keyword, language), text.lower()) is not None

    assert hit("除湿機", "ja", "新型除湿機を回収")
    assert hit("장난감", "ko", "장난감을")
    assert hit("قابس", "ar", "والقوابس") is False  # a broken plural is its own keyword
    assert hit("قوابس", "ar", "والقوابس")
    assert hit("كابل", "ar", "بالكابلات")
    assert not hit("كابل", "ar", "مكابلة")
    assert hit("đồ chơi", "vi", "Đồ  chơi trẻ em")
    assert not hit("đồ chơi", "vi", "đồ chơiz")
    assert hit("giocattolo", "it", "giocattoli")
    assert hit("gioco da tavolo", "it", "giochi da tavolo")
    assert hit("bambola", "it", "bambole")
    assert not hit("bambola", "it", "bambolotto")
    assert hit("botão", "pt", "botões")
    assert hit("lençol", "pt", "lençóis")
    assert hit("carregador", "pt", "carregadores")
    assert not hit("carregador", "pt", "descarregador")
    assert hit("zabawk", "pl", "Zabawki")
    assert not hit("zabawk", "pl", "bezzabawk")
    assert hit("oyunca", "tr", "oyuncağı")
    assert hit("ısıtıcı", "tr", "ISITICILAR")
    assert hit("ilaç", "tr", "İLAÇ")


def test_every_language_has_a_matcher_and_every_sector_all_languages() -> None:
    taxonomy = load_taxonomy()
    assert set(KEYWORD_LANGUAGES) >= NEW
    for sector in taxonomy.sectors:
        assert set(sector.keywords) == set(KEYWORD_LANGUAGES), sector.code
        for language, words in sector.keywords.items():
            assert len(words) >= 5 or language not in NEW, (sector.code, language)
            assert len(set(words)) == len(words), (sector.code, language)


def test_every_literal_is_in_what_its_pattern_matches() -> None:
    """The pre-filter: the literal of a keyword is a substring of every match (checked on
    the keyword itself and on inflected forms the pattern accepts)."""
    for sector in load_taxonomy().sectors:
        for language, words in sector.keywords.items():
            for word in words:
                rx = re.compile(_pattern(word, language))
                literal = _literal(word, language)
                for form in (word.lower(), word.lower() + "lar", word.upper()):
                    m = rx.search(form.lower())
                    if m:
                        assert literal in m.group(0), (language, word, form)
                assert rx.search(word.lower()), (language, word)  # a keyword matches itself


def test_fast_matches_equal_every_regex_on_every_text(rules: KeywordRules) -> None:
    texts = [
        "Oyuncakların geri çağrılması; İLAÇ; ISITICI",
        "سحب ألعاب الأطفال والقوابس الكهربائية",
        "giocattoli e bambole; brinquedos e carregadores; zabawki i ładowarki",
        "除湿機・電気ストーブ・어린이 장난감・đồ chơi nhựa",
        "Children's toy with lithium-ion battery and USB charger",
        "",
        # Keywords as the whole text or its last characters: the pre-filter's prefixes end there.
        "toy",
        "a kettle",
        "电池",
        "灯",
    ]
    for text in texts:
        lowered = text.lower()
        naive: dict[str, list[str]] = {}
        for sector, patterns in rules.patterns.items():
            hits = list(dict.fromkeys(kw for kw, rx in patterns if rx.search(lowered)))
            if hits:
                naive[sector] = hits
        assert rules.matches(text) == naive
