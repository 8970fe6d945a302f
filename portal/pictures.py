"""The pictures a source publishes with a recall, shown on the measure page through the portal.

The page's Content-Security-Policy allows images from the portal only (``img-src 'self'``), and a
reader's browser should not call a foreign server for every page it opens, so the portal fetches
a picture itself: only a URL the source record names (never one a reader types), over http(s),
at most ``MAX_BYTES``, and only when its first bytes are a JPEG, PNG, GIF or WebP picture
(never SVG, which can carry script). The browser keeps it for a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tbt_alert.errors import TbtError

MAX_PICTURES = 6  # a recall shows its product from a few sides; more is a gallery
MAX_BYTES = 2_000_000  # a product photo of a recall notice is well under 1 MB
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3
# Where recall sources keep their picture links in ``extra`` (Safety Gate, RappelConso, CPSC).
EXTRA_KEYS = ("pictures", "images", "Images")
# Magic numbers: the type is read from the bytes, never from the foreign server's header.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class PictureUnavailable(TbtError):
    """A picture could not be shown (not a listed picture, unreachable, too large or not an image)."""


def picture_urls(extra: Mapping[str, Any] | None) -> list[str]:
    """The http(s) picture links a source record lists, in its order, each once, at most MAX_PICTURES."""
    found: list[str] = []
    for key in EXTRA_KEYS:
        value = (extra or {}).get(key)
        for entry in value if isinstance(value, list) else [value] if value else []:
            url = entry.get("URL") or entry.get("url") if isinstance(entry, Mapping) else entry
            if isinstance(url, str) and url.strip().lower().startswith(("https://", "http://")):
                found.append(url.strip())
    return list(dict.fromkeys(found))[:MAX_PICTURES]


def picture_type(head: bytes) -> str | None:
    """The picture's media type from its first bytes; None for anything else (HTML, SVG, PDF)."""
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def fetch_picture(url: str, *, max_bytes: int = MAX_BYTES) -> tuple[bytes, str]:
    """(bytes, media type) of the picture at ``url``; PictureUnavailable naming the URL and why."""
    import httpx

    try:
        with (
            httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=TIMEOUT_SECONDS) as client,
            client.stream("GET", url, headers={"Accept": "image/*"}) as response,
        ):
            if response.status_code != 200:
                raise PictureUnavailable(f"picture {url} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise PictureUnavailable(f"picture {url} is {declared} bytes, over the {max_bytes} the portal shows")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise PictureUnavailable(f"picture {url} is over the {max_bytes} bytes the portal shows")
    except httpx.HTTPError as exc:
        raise PictureUnavailable(f"picture {url} could not be fetched ({type(exc).__name__})") from exc
    media_type = picture_type(bytes(body[:16]))
    if media_type is None:
        raise PictureUnavailable(f"{url} is not a JPEG, PNG, GIF or WebP picture")
    return bytes(body), media_type
