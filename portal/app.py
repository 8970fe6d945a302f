"""The portal's FastAPI app: :func:`create_app` wires settings, middleware, errors and routers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.access import Forbidden, NotAuthenticated
from portal.context import STATIC_DIR, Portal, make_templates
from portal.i18n import LANG_COOKIE, pick_language, translator
from portal.limits import RequestLimits
from portal.render import message_page
from portal.security import (
    HSTS,
    SECURITY_HEADERS,
    SESSION_MAX_AGE_SECONDS,
    SessionData,
    SessionSigner,
    new_session_id,
    session_cookie_name,
)
from portal.throttle import LoginThrottle
from portal.web import CsrfFailed
from schema.engine import make_engine
from search.timing import recording, server_timing
from tbt_alert.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """A portal app for ``settings``; nothing connects until the first request."""
    from portal.routes import admin, api, auth, measures, reports, search, standards, subscriber

    engine = make_engine(settings.database_url)
    portal = Portal(
        settings=settings,
        engine=engine,
        signer=SessionSigner(settings.secret_key),
        throttle=LoginThrottle(engine),
        trusted_proxies=settings.portal_trusted_proxies,
        templates=make_templates(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        portal.close()

    app = FastAPI(
        title="tbt-alert API",
        version="1",
        description="Search technical barriers to trade (WTO TBT/SPS notifications, regulations, recalls) "
        "affecting Zhejiang's export sectors. Authenticate with the X-API-Key header.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI loads scripts from a CDN, which our CSP forbids; /api/docs is ours
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.portal = portal
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, search, measures, reports, admin, subscriber, api, standards):
        app.include_router(module.router)
    app.include_router(standards.api_router)  # the standard page's JSON (issue 27)

    secure_cookies = settings.portal_base_url.startswith("https://")
    session_cookie = session_cookie_name(secure_cookies)

    @app.middleware("http")
    async def session_and_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        cookie_data = portal.signer.loads(request.cookies.get(session_cookie))
        request.state.session = cookie_data or SessionData(sid=new_session_id())
        request.state.language = pick_language(request.cookies.get(LANG_COOKIE), request.query_params.get("lang"))
        started = time.perf_counter()
        with recording() as spans:
            response = await call_next(request)
        # Where the time went (search layers, and the whole app): shown by browsers' developer
        # tools and added up per layer by bench/bench_portal.py.
        spans.append(("app", (time.perf_counter() - started) * 1000.0))
        response.headers["Server-Timing"] = server_timing(spans)
        session: SessionData = request.state.session
        if session != cookie_data:
            response.set_cookie(
                session_cookie,
                portal.signer.dumps(session),
                max_age=SESSION_MAX_AGE_SECONDS,
                httponly=True,
                samesite="lax",
                secure=secure_cookies,
                path="/",
            )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if secure_cookies:
            # The proxy may add it too; the app says it as well, so no deployment goes without.
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not request.url.path.startswith("/static/"):
            # Pages, exports and report files show data behind a login: no cache, shared or the
            # browser's, may keep them. Only the static files are the same for everyone.
            response.headers["Cache-Control"] = "private, no-store"
        return response

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if exc.api:
            return JSONResponse(
                {"detail": "Send a valid API key in the X-API-Key header."},
                status_code=401,
                headers={"WWW-Authenticate": "ApiKey"},
            )
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        from urllib.parse import urlencode

        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if exc.api:
            return JSONResponse({"detail": "Your role does not allow this."}, status_code=403)
        return message_page(request, "forbidden", translator(request.state.language)["forbidden"], status=403)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return message_page(request, "bad_request", translator(request.state.language)["csrf_failed"], status=403)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api") or request.url.path.startswith("/static"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        words = translator(request.state.language)
        key = {404: "not_found", 403: "forbidden"}.get(exc.status_code, "bad_request")
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404, 405) else words[key]
        return message_page(request, key, detail, status=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": problems}, status_code=422)
        text = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in problems)
        return message_page(request, "bad_request", text, status=422)

    # Added last, so outermost: sizes are checked before the session, the routes or any form parsing.
    app.add_middleware(RequestLimits)
    return app
