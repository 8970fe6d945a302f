"""A regional body's measure (EAEU, GCC) reaches subscribers of each member country."""

from alerts.matching import MeasurePool, prepare
from schema.models import Measure, Subscription
from tbt_alert.countries import applicable_countries


def _regional(extra: dict[str, object]) -> Measure:
    # Constructed for this test: the shape of an eaeu_eec item (country None, members in extra).
    return Measure(
        id="eaeu_eec-x",
        source_id="eaeu_eec",
        source_key="TR CU 008/2011",
        kind="regulation",
        title="О безопасности игрушек",
        country=None,
        extra=extra,
        hs_codes=[],
        keywords=[],
    )


def test_members_in_applies_to_count_as_markets() -> None:
    assert applicable_countries(None, {"applies_to": ["RUS", "KAZ"]}) == ["RUS", "KAZ"]
    assert applicable_countries("SAU", {"applies_to": ["SAU", "ARE"]}) == ["SAU", "ARE"]
    assert applicable_countries("DEU", {}) == ["DEU"]
    assert applicable_countries(None, None) == []


def test_subscriber_of_a_member_country_matches_the_union_measure() -> None:
    pool = MeasurePool(prepare([_regional({"applies_to": ["ARM", "BLR", "KAZ", "KGZ", "RUS"]})]))
    russia = Subscription(
        countries=["RUS"], country_groups=[], sectors=[], hs_prefixes=[], keywords=[], kinds=[], min_relevance=0.5
    )
    france = Subscription(
        countries=["FRA"], country_groups=[], sectors=[], hs_prefixes=[], keywords=[], kinds=[], min_relevance=0.5
    )
    bri = Subscription(
        countries=[], country_groups=["bri"], sectors=[], hs_prefixes=[], keywords=[], kinds=[], min_relevance=0.5
    )
    assert list(pool.match(russia)) == [0]
    assert pool.match(france) == {}
    assert list(pool.match(bri)) == [0]
