"""The measure page as a Chinese reader sees it: a header in Chinese, sectors with plain reasons, no
raw dicts; the source's pictures through the portal (with its limits); related measures with why;
and the search page without a stray pager or the browser's mm/dd/yyyy.

Records are the portal fixture's real ones (ePing pages, a Safety Gate weekly report). Two things
are CONSTRUCTED and say so: one measure whose source lists pictures on a loopback server (the
pictures are drawn here with Pillow), and sentence vectors for three recalls (two equal, one
opposite), so the kNN "similar text" path runs against the real index without the encoder.
"""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from portal.pictures import MAX_BYTES
from schema.engine import session_scope
from schema.ids import measure_id
from schema.models import Measure, MeasureStandard, MeasureVector
from schema.upsert import store_measures
from schema.vectors import pack_vector
from tests.portal.conftest import PortalEnv

PICTURE_KEY = "CONSTRUCTED-PICTURES-1"


@pytest.fixture(scope="module")
def picture_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real HTTP server on loopback serving a PNG, an HTML page named .png, and an oversized JPEG."""
    folder = tmp_path_factory.mktemp("pictures")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buffer, format="PNG")
    (folder / "pot.png").write_bytes(buffer.getvalue())
    (folder / "page.png").write_bytes(b"<html><script>alert(1)</script></html>")
    (folder / "huge.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * (MAX_BYTES + 10))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def page_env(portal_env: PortalEnv, picture_server: str, es) -> PortalEnv:
    from search.lifecycle import rebuild_index

    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            store_measures(
                session,
                [
                    {
                        "source_id": "eu_safety_gate",
                        "source_key": PICTURE_KEY,
                        "kind": "recall",
                        "title": "Constructed recall with pictures",
                        "country": "CYP",
                        "extra": {
                            "constructed": True,
                            "why": "pictures on a loopback server for the proxy test",
                            "pictures": [f"{picture_server}/{name}" for name in ("pot.png", "page.png", "huge.jpg")],
                        },
                    }
                ],
            )
            recalls = list(
                session.scalars(
                    select(Measure.id)
                    .where(Measure.kind == "recall", Measure.source_key != PICTURE_KEY)
                    .order_by(Measure.id)
                )
            )[:3]
            direction = np.random.default_rng(24).standard_normal(384).astype(np.float32)
            direction /= np.linalg.norm(direction)
            for mid, vector in zip(recalls, (direction, direction, -direction), strict=True):
                session.merge(
                    MeasureVector(measure_id=mid, encoder_version="constructed", dims=384, vector=pack_vector(vector))
                )
        rebuild_index(portal_env.settings, client=es)
    finally:
        engine.dispose()
    portal_env.recall_id = recalls[0]
    portal_env.extra_ids = recalls  # type: ignore[attr-defined]
    return portal_env


def test_header_reads_in_chinese_without_raw_dicts(
    page_env: PortalEnv, client_as: Callable[[str | None], TestClient]
) -> None:
    html = client_as("staff").get(f"/measures/{page_env.tagged_id}").text
    header = html.split('id="measure-header"')[1].split("</header>")[0]
    assert "<h1" in header
    assert "原文标题" in header
    assert "市场" in header
    assert "要点" in header
    for raw in ("{'", "[{", "nearest_examples", "hs_codes", "'type'"):
        assert raw not in html, raw
    assert 'id="raw-json"' not in html  # staff: no raw data
    admin = client_as("admin").get(f"/measures/{page_env.tagged_id}").text
    assert 'id="raw-json"' in admin


def test_pictures_come_through_the_portal_within_limits(
    page_env: PortalEnv, client_as: Callable[[str | None], TestClient]
) -> None:
    mid = measure_id("eu_safety_gate", PICTURE_KEY)
    client = client_as("staff")
    html = client.get(f"/measures/{mid}").text
    pictures = html.split('id="pictures"')[1].split("</div>")[0]
    assert pictures.count("<img") == 3
    assert "127.0.0.1" not in pictures  # never hot-linked: the browser asks the portal
    first = client.get(f"/measures/{mid}/pictures/1")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(first.content)).size == (64, 48)
    assert client.get(f"/measures/{mid}/pictures/2").status_code == 502  # HTML named .png
    assert client.get(f"/measures/{mid}/pictures/3").status_code == 502  # over MAX_BYTES
    assert client.get(f"/measures/{mid}/pictures/4").status_code == 404  # not a listed picture
    assert client_as(None).get(f"/measures/{mid}/pictures/1").status_code in (302, 303, 401, 403)


def test_related_measures_say_why(page_env: PortalEnv, client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    follow_up = client.get(f"/measures/{page_env.follow_up_id}").text
    related = follow_up.split('id="related"')[1].split("</ul>")[0]
    assert "同一通报系列" in related
    first, twin, opposite = page_env.extra_ids  # type: ignore[attr-defined]
    similar = client.get(f"/measures/{first}").text.split('id="related"')[1].split("</ul>")[0]
    assert f"/measures/{twin}" in similar
    assert "内容相近（相似度 1.00）" in similar
    for item in similar.split("<li>"):
        if f'/measures/{opposite}"' in item:
            assert "内容相近" not in item  # the opposite vector is not "similar"


def test_search_page_has_no_stray_pager_and_chinese_dates(
    page_env: PortalEnv, client_as: Callable[[str | None], TestClient]
) -> None:
    client = client_as("staff")
    # Nothing can match: words found nowhere, and a date range before any record. (The words alone
    # are not enough once the encoder is loaded: the nearest measures by vector always exist.)
    empty = client.get("/search", params={"q": "zzqqxxnothingatall", "date_to": "1990-01-01"}).text
    assert 'id="no-results"' in empty
    assert 'class="pager"' not in empty
    assert 'type="date"' not in empty
    assert 'placeholder="年-月-日"' in empty
    everything = client.get("/search").text
    assert 'class="pager"' in everything  # many results: the pager is there
    languages = everything.split('id="facet-languages"')[1].split("</section>")[0]
    assert "英语" in languages
    assert ">en<" not in languages


def test_measure_page_in_english_keeps_english(
    page_env: PortalEnv, client_as: Callable[[str | None], TestClient]
) -> None:
    client = client_as("staff")
    client.get("/lang/en", params={"next": "/search"})
    html = client.get(f"/measures/{page_env.tagged_id}").text
    assert "Original title" in html
    assert "原文标题" not in html


def test_measures_citing_the_same_standard_are_related(
    page_env: PortalEnv, client_as: Callable[[str | None], TestClient]
) -> None:
    """A real recall of the fixture whose cited standard another measure cites too lists that measure
    as citing the same standard, and every measure it lists for that reason does cite it."""
    from classifiers.tagging import store_standards

    engine = page_env.engine()
    try:
        with session_scope(engine) as session:
            # The fixture stores its real records untagged: extract their citations as tagging does.
            for measure in session.scalars(select(Measure)):
                store_standards(session, measure)
        with session_scope(engine) as session:
            shared = session.execute(
                select(MeasureStandard.key, func.min(MeasureStandard.measure_id))
                .group_by(MeasureStandard.key)
                .having(func.count(func.distinct(MeasureStandard.measure_id)) >= 2)
                .order_by(MeasureStandard.key)
            ).first()
            assert shared, "the fixture's measures cite no standard twice: tagging no longer stores cited standards"
            key, one = shared
            keys = set(session.scalars(select(MeasureStandard.key).where(MeasureStandard.measure_id == one)))
            citing = set(session.scalars(select(MeasureStandard.measure_id).where(MeasureStandard.key.in_(keys))))
    finally:
        engine.dispose()
    related = client_as("staff").get(f"/measures/{one}").text.split('id="related"')[1].split("</ul>")[0]
    listed = [part for part in related.split("<li>") if "引用同一标准" in part]
    assert listed, f"{one} cites {key}, which other measures cite, but none is listed as citing the same standard"
    for part in listed:
        other = part.split('href="/measures/')[1].split('"')[0]
        assert other in citing - {one}
