"""`tbt-alert index ...` and `tbt-alert search ...` end to end (real database and Elasticsearch)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.cli import main
from schema.engine import make_engine
from tests.search.conftest import load_measures


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, sqlite_url: str, index_prefix: str) -> str:
    for name, value in {"TBT_DATA_DIR": str(tmp_path / "data"), "TBT_DATABASE_URL": sqlite_url,
                        "TBT_INDEX_PREFIX": index_prefix, "TBT_SECRET_KEY": "k" * 40}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    engine = make_engine(sqlite_url)
    load_measures(engine)
    engine.dispose()
    return index_prefix


def test_index_and_search_commands(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "status"]) == 3  # not built yet: not in sync
    assert main(["index", "rebuild"]) == 0
    assert main(["index", "update"]) == 0
    assert main(["index", "status"]) == 0
    capsys.readouterr()
    assert main(["search", "阻燃", "--sector", "toys", "--country", "RUS", "--open-for-comment", "--json"]) == 0
    response = json.loads(capsys.readouterr().out)
    assert response["total"] == 1
    assert response["hits"][0]["fields"]["source_key"] == "CONSTRUCTED-ZH-1"
    assert {b["key"] for b in response["facets"]["sectors"]} == {"toys"}
    assert main(["search", "toy", "--size", "2"]) == 0
    out = capsys.readouterr().out
    assert "«Toy» drum" in out
    assert "next page: --after" in out


def test_bad_input_and_unreachable_cluster_are_one_line_errors(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "toy", "--country", "Atlantis"]) == 1
    assert "unknown country 'Atlantis'" in capsys.readouterr().err
    monkeypatch.setenv("TBT_ELASTICSEARCH_URL", "http://127.0.0.1:9")
    assert main(["index", "update"]) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err
    assert "Traceback" not in err


def test_search_reports_how_it_read_the_query(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "rebuild"]) == 0
    capsys.readouterr()
    assert main(["search", "俄罗斯 玩具", "--json"]) == 0
    response = json.loads(capsys.readouterr().out)
    assert [(i["kind"], i["code"], i["label_zh"]) for i in response["interpretation"]["items"]] == [
        ("country", "RUS", "俄罗斯"),
        ("sector", "toys", "玩具"),
    ]
    assert main(["search", "玩具"]) == 0
    out = capsys.readouterr().out
    assert "已识别 (understood)：行业 玩具 [sector:toys]" in out
    assert "--literal" in out
    assert main(["search", "玩具", "--literal", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["interpretation"] is None
    assert main(["search", "俄罗斯 玩具", "--ignore", "country:RUS", "--json"]) == 0
    reading = json.loads(capsys.readouterr().out)["interpretation"]
    assert [i["code"] for i in reading["items"]] == ["toys"]
    assert reading["free_text"] == "俄罗斯"
