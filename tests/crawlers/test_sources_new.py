"""`tbt-alert sources new ID`: the skeleton validates, the parser stub says what to do, bad ids are refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from crawlers.recorded import load_meta
from crawlers.sources import load_source
from pipeline.cli import main
from pipeline.commands.sources import scaffold
from tbt_alert.errors import ParserNotWritten, TbtError, UserError


def test_the_skeleton_is_one_folder_that_validates(tmp_path: Path) -> None:
    written = scaffold("jp_meti", tmp_path, url="https://www.meti.go.jp/")
    folder = tmp_path / "crawlers" / "sources" / "jp_meti"
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "crawlers/sources/jp_meti/__init__.py",
        "crawlers/sources/jp_meti/jp_meti.yml",
        "crawlers/sources/jp_meti/parser.py",
        "crawlers/sources/jp_meti/recorded/meta.json",
        "tests/crawlers/test_jp_meti.py",
    }
    config = load_source("jp_meti", tmp_path / "crawlers" / "sources")
    assert config.base_urls == {"start": "https://www.meti.go.jp/"}
    assert config.enabled is False
    assert config.verified is False
    meta = load_meta("jp_meti", tmp_path / "crawlers" / "sources")
    assert meta.to_be_recorded
    assert meta.cases == []
    compile((tmp_path / "tests" / "crawlers" / "test_jp_meti.py").read_text(), "test_jp_meti.py", "exec")

    spec = importlib.util.spec_from_file_location("scaffolded_parser", folder / "parser.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(ParserNotWritten, match=r"not written yet.*crawlers/sources/jp_meti/parser\.py") as info:
        module.parse(b"{}", "https://www.meti.go.jp/", config)
    assert isinstance(info.value, TbtError)


def test_an_existing_id_is_refused(tmp_path: Path) -> None:
    scaffold("jp_meti", tmp_path)
    with pytest.raises(UserError, match="exists already"):
        scaffold("jp_meti", tmp_path)
    (tmp_path / "tests" / "crawlers" / "test_kr_kats.py").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tests" / "crawlers" / "test_kr_kats.py").write_text("")
    with pytest.raises(UserError, match="exists already"):
        scaffold("kr_kats", tmp_path)
    assert not (tmp_path / "crawlers" / "sources" / "kr_kats").exists()


@pytest.mark.parametrize("bad", ["Jp_Meti", "jp-meti", "1jp", "j", "class", "load_source", "../etc", "jp meti"])
def test_an_invalid_id_is_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UserError):
        scaffold(bad, tmp_path)
    assert not (tmp_path / "crawlers").exists()


def test_the_command_writes_the_folder_or_says_why_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "new", "jp_meti", "--root", str(tmp_path)]) == 0
    assert "crawlers/sources/jp_meti/parser.py" in capsys.readouterr().out
    assert main(["sources", "new", "jp_meti", "--root", str(tmp_path)]) == 1
    assert "tbt-alert: source 'jp_meti' exists already" in capsys.readouterr().err
    assert main(["sources", "new", "JP", "--root", str(tmp_path)]) == 1
    assert "not a valid source id" in capsys.readouterr().err
