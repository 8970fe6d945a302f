"""Our top-level packages must import from this checkout, not from PyPI namesakes (`schema` exists there)."""

import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ["pipeline", "crawlers", "classifiers", "schema", "search", "alerts", "reports", "portal", "dags"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_imports_from_this_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == REPO / name


def test_cli_help_lists_foundation_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("db", "services", "doctor"):
        assert command in out
