"""Builds the CONSTRUCTED hostile Safety Gate documents in tests/fixtures/hostile_xml/ (never recorded).

Each is a real recorded document of eu_safety_gate with an attack added by us, after the
security review (M5): a DTD whose entities expand a billion-fold, an entity that smuggles a
cloud-metadata URL into the weekly list, and a comment holding many unclosed
``<notifications `` start tags after the last alert (which made the old alert-cutting regex
quadratic). The entity chain that crashed expat 2.5.0 (CVE-2024-8176) is 5.5 MB, so it is built
by :func:`entity_chain` in the test instead of being shipped.
Run: ``.venv/bin/python -m tests.crawlers.hostile_xml`` (the test checks the files match).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from crawlers.recorded import recorded_dir

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hostile_xml" / "eu_safety_gate"
REPORT_URL = "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000122?language=en"
LIST_URL = "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/list/xml/en"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
UNCLOSED_STARTS = 40_000  # 15 bytes each: a report of about 600 kB


def recorded_report() -> bytes:
    return gzip.decompress((recorded_dir("eu_safety_gate") / "report_10000122.xml.gz").read_bytes())


def recorded_list() -> bytes:
    return (recorded_dir("eu_safety_gate") / "weekly_list.xml").read_bytes()


def _with_doctype(body: bytes, doctype: bytes) -> bytes:
    assert body.startswith(_DECLARATION)
    return _DECLARATION + doctype + body[len(_DECLARATION) :]


def billion_laughs_report() -> bytes:
    """The recorded report with a billion-laughs DTD, its first case number replaced by the bomb."""
    levels = [b'<!ENTITY lol0 "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (n, b"".join(b"&lol%d;" % (n - 1) for _ in range(10))) for n in range(1, 10)
    ]
    body = _with_doctype(recorded_report(), b"<!DOCTYPE Safety-Gate [" + b"".join(levels) + b"]>")
    case = b"<caseNumber>A11/00124/22</caseNumber>"
    assert case in body
    return body.replace(case, b"<caseNumber>&lol9;</caseNumber>", 1)


def entity_url_list() -> bytes:
    """The recorded weekly list whose first report URL comes from an internal entity (an SSRF lure)."""
    doctype = b'<!DOCTYPE Safety-Gate [<!ENTITY next "http://169.254.169.254/latest/meta-data/">]>'
    body = _with_doctype(recorded_list(), doctype)
    start = body.index(b"<URL>") + len(b"<URL>")
    end = body.index(b"</URL>", start)
    return body[:start] + b"&next;" + body[end:]


def unclosed_notifications_report() -> bytes:
    """The recorded report with a comment of unclosed ``<notifications `` tags after the last alert."""
    body = recorded_report()
    close = b"</Safety-Gate>"
    assert body.rstrip().endswith(close)
    at = body.rindex(close)
    return body[:at] + b"<!--" + b"<notifications " * UNCLOSED_STARTS + b"-->" + body[at:]


def entity_chain(length: int) -> bytes:
    """A report whose one entity reference goes through ``length`` entities (CVE-2024-8176)."""
    declarations = b"".join(b'<!ENTITY e%d "&e%d;">' % (n, n + 1) for n in range(length))
    doctype = b"<!DOCTYPE Safety-Gate [" + declarations + b'<!ENTITY e%d "x">]>' % length
    return _DECLARATION + doctype + b"<Safety-Gate>&e0;</Safety-Gate>"


def built() -> dict[str, bytes]:
    """File name -> the bytes this module builds for it (gzip without a timestamp, so it is stable)."""
    return {
        "report_billion_laughs.xml": billion_laughs_report(),
        "weekly_list_entity_url.xml": entity_url_list(),
        "report_unclosed_notifications.xml.gz": gzip.compress(unclosed_notifications_report(), mtime=0),
    }


def read(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


if __name__ == "__main__":
    for name, data in built().items():
        (FIXTURES / name).write_bytes(data)
        print(f"wrote {FIXTURES / name}")
