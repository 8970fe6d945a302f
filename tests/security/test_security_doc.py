"""docs/SECURITY.md keeps its promises: a threat model, a row for every finding of the review, and
every test it names exists (a renamed test would otherwise leave the page pointing at nothing)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FINDINGS = ["H1", "H2", *(f"M{n}" for n in range(1, 10)), *(f"L{n}" for n in range(1, 10))]


def _page() -> str:
    return (REPO / "docs" / "SECURITY.md").read_text(encoding="utf-8")


def test_the_threat_model_names_assets_actors_boundaries_and_controls() -> None:
    page = _page()
    model = page[page.index("## Threat model") : page.index("## Secrets")]
    for part in ("**Assets.**", "**Actors.**", "**Trust boundaries and entry points.**", "**Accepted.**"):
        assert part in model
    for actor in ("Publishers", "Anonymous", "Subscribers", "staff", "analysts", "admins", "Operators"):
        assert actor in model


def test_every_finding_has_a_row_with_a_test() -> None:
    page = _page()
    table = page[page.index("## Findings of the security review") :]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| ([HML]\d) .*$", table, re.MULTILINE)}
    assert sorted(rows) == sorted(FINDINGS)
    for finding, row in rows.items():
        assert "tests/" in row.rsplit("|", 2)[-2], f"{finding} names no test"


def test_every_test_the_page_names_exists() -> None:
    named = set(re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", _page()))
    assert len(named) > 20
    for path, function in named:
        source = REPO / path
        assert source.is_file(), path
        if function:
            assert re.search(rf"^def {function}\(", source.read_text(encoding="utf-8"), re.MULTILINE), (
                f"{path}::{function}"
            )
