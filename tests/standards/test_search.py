"""Search by cited standard against the real Elasticsearch: every part and edition, the other
designation of the same standard, the facet, the CLI."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.cli import main
from search.lifecycle import rebuild_index
from search.query import SearchRequest, search_measures
from tests.standards.conftest import StandardsEnv


def _found(es: Any, env: StandardsEnv, *standards: str, **more: Any) -> set[int]:
    response = search_measures(es, env.settings, SearchRequest(size=50, standards=list(standards), **more))
    by_measure = {mid: n for n, mid in env.ids.items()}
    return {by_measure[hit.id] for hit in response.hits}


def test_a_standard_matches_every_part_and_edition_and_its_other_designation(
    es: Any, standards_env: StandardsEnv
) -> None:
    rebuild_index(standards_env.settings, client=es)
    # IEC 60335 finds the EN 60335 citations (CENELEC numbers IEC adoptions with the IEC number),
    # whatever the part: EN 60335-1, EN 60335-2-30, EN 60335 alone.
    assert _found(es, standards_env, "IEC 60335") == {166, 144}
    assert _found(es, standards_env, "EN 60335-2-30:2019") == {166, 144}
    assert _found(es, standards_env, "EN 71") == {4, 11}
    assert _found(es, standards_env, "EN 71", "EN 60598") == set()  # every one asked for must be cited
    assert _found(es, standards_env, "IEC 60884") == {169}
    assert _found(es, standards_env, "ГОСТ Р 51558") == {221}
    assert _found(es, standards_env, "ASTM F3096") == {215}
    assert _found(es, standards_env, "BS 1363", countries=["GBR"]) == {144}
    response = search_measures(es, standards_env.settings, SearchRequest(size=1))
    facet = {b.key: b.count for b in response.facets["standards"]}
    assert facet["EN 60335"] == 2
    assert facet["IEC 60335"] == 2
    assert facet["EN 71"] == 2
    assert facet["GOST R 51558"] == 1


def test_an_unknown_designation_is_refused() -> None:
    with pytest.raises(ValueError, match="not a standard designation"):
        SearchRequest(standards=["heaters"])


def test_cli_filters_by_standard(
    es: Any, standards_env: StandardsEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rebuild_index(standards_env.settings, client=es)
    monkeypatch.setenv("TBT_DATABASE_URL", standards_env.settings.database_url)
    monkeypatch.setenv("TBT_INDEX_PREFIX", standards_env.settings.index_prefix)
    monkeypatch.setenv("TBT_DATA_DIR", str(standards_env.settings.data_dir))
    monkeypatch.setenv("TBT_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
    assert main(["search", "--standard", "IEC 60335", "--retrieval", "bm25"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 measures")
    assert "standards (引用标准): EN 60335-1, EN 60335-2-30" in out
