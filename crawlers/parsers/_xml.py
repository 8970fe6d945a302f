"""Reading crawled XML safely: documents with a DTD are refused unread, elements are cut out in linear time.

No source we crawl needs a DTD or entities, and expat before 2.7.0 crashes on a long entity
chain (CVE-2024-8176), so :func:`parse_xml` refuses any DOCTYPE through ``defusedxml`` before
expat reads a declaration. A refused document is one bad record, not a changed page: the
parser quarantines it whole (:func:`quarantined_document`) and the crawl goes on.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring as _defused_fromstring  # type: ignore[import-untyped]

from crawlers.items import Rejected
from tbt_alert.errors import RecordRejected, StructureChanged

_WHITESPACE = b" \t\r\n"


class UnsafeDocument(RecordRejected):
    """A crawled document declares a DTD or entities: refused unread and quarantined as a whole."""


def parse_xml(body: bytes, source: str, *, document: str, root_field: str) -> ET.Element:
    """The root element of ``body``; a DOCTYPE raises UnsafeDocument, broken XML StructureChanged."""
    try:
        root: ET.Element = _defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        message = (
            f"the document declares a DTD or entities ({type(exc).__name__}), which no crawled XML may; "
            "it was refused unread as a possible entity-expansion attack and quarantined - "
            "compare it with the publisher's copy before resolving"
        )
        raise UnsafeDocument(source, message, record=document, field="DOCTYPE") from None
    except ET.ParseError as exc:
        raise StructureChanged(source, f"the response is not well-formed XML ({exc})", field=root_field) from None
    return root


def quarantined_document(exc: UnsafeDocument, body: bytes) -> Rejected:
    """The Rejected of a whole refused document, keyed by its URL, with the body as received."""
    return Rejected(exc.source, exc.record, exc.field, str(exc), body.decode("utf-8", errors="replace"))


def cut_elements(body: bytes, tag: str) -> list[bytes]:
    """The exact bytes of each ``<tag ...>...</tag>`` block, leftmost first, in one pass.

    Each block ends at the first closing tag after its start (the elements must not nest).
    When no closing tag follows a start, none follows any later start either, so the scan
    stops there: every byte is looked at a bounded number of times, whatever the input
    (a backtracking ``<tag[\\s>].*?</tag>`` rescans to the end from every unclosed start).
    """
    start_tag = b"<" + tag.encode("ascii")
    end_tag = b"</" + tag.encode("ascii") + b">"
    blocks: list[bytes] = []
    pos = 0
    while (start := body.find(start_tag, pos)) != -1:
        after = start + len(start_tag)
        if after >= len(body) or body[after] not in _WHITESPACE + b">":
            pos = after  # a longer name such as <notificationsX
            continue
        end = body.find(end_tag, after)
        if end == -1:
            break
        pos = end + len(end_tag)
        blocks.append(body[start:pos])
    return blocks
