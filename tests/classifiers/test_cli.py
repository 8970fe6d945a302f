"""``tbt-alert classify --jsonl IN OUT``: records in, the same records plus sectors out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TBT_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("TBT_ENCODER_PATH", str(tmp_path / "no-encoder-here"))


def test_jsonl_keeps_input_fields_and_adds_sectors(env: None, tmp_path: Path) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    records = [
        {"id": "a-1", "title": "Toys: safety requirements", "hs_codes": ["9503"], "extra": {"keep": True}},
        {"id": "b-2", "title": "Rückruf: Käse mit Listerien", "description": "", "products": "Käse"},
        {"id": "c-3", "title": "", "hs_codes": ["not-a-code"]},
    ]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    assert main(["classify", "--rules-only", "--jsonl", str(source), str(target)]) == 0
    out = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == ["a-1", "b-2", "c-3"]
    assert out[0]["extra"] == {"keep": True}
    assert {
        "code": "toys",
        "score": 1.0,
        "method": "hs",
        "evidence": {"hs_codes": ["9503"], "rule_prefixes": ["9503"]},
    } in out[0]["sectors"]
    assert out[1]["language"] == "de"
    assert "food_agri" in {s["code"] for s in out[1]["sectors"]}
    assert out[2]["sectors"] == []
    assert out[2]["language"] is None


def test_jsonl_reports_bad_lines_and_goes_on(env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text('{"title": "toys"}\nnot json\n[1, 2]\n', encoding="utf-8")
    assert main(["classify", "--rules-only", "--jsonl", str(source), str(target)]) == 1
    assert len(target.read_text().splitlines()) == 1
    err = capsys.readouterr().err
    assert "line 2: not JSON" in err
    assert "line 3: not a JSON object" in err


def test_model_mode_without_encoder_says_what_to_do(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"title": "toys"}\n', encoding="utf-8")
    assert main(["classify", "--jsonl", str(source), str(tmp_path / "out.jsonl")]) == 1
    assert "tbt-alert model build" in capsys.readouterr().err
