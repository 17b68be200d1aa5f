"""The FastAPI application: routes, security middleware, and errors that never leak a trace.

``create_app(settings)`` wires routes, middleware and error handlers; its lifespan opens the
store (applying migrations), marks jobs a stopped server left unfinished, cleans expired jobs and
sessions, starts the scan runner, and at shutdown stops the runner and disposes of the engine.
``hepcal serve`` runs it under uvicorn.

Errors: a user's mistake (:class:`~hepcal.errors.InputError`) is a 422 naming it; only
:class:`~hepcal.errors.NotFound` (the app's own "no such case/job/image") and an unknown route
are a 404; anything else is a bug: a 500 with a reference, the trace in the server log, no
detail to the client. Every answer carries the security headers.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from hepcal import __version__
from hepcal.errors import HepcalError, KnowledgeBaseError, NotFound, listed
from hepcal.findings import CaseError
from hepcal.web import api, pages, reading, viewer
from hepcal.web.accounts import TooManyAttempts
from hepcal.web.scans import JobLimits, Pipeline, ScanRunner
from hepcal.web.security import SECURITY_HEADERS, AuthRequired, BodyLimit, CsrfFailed, SecurityHeaders, csrf_cookie_middleware
from hepcal.web.services import Services
from hepcal.web.settings import Settings
from hepcal.web.store import Store, open_store
from hepcal.web.templating import render

log = logging.getLogger(__name__)

UPLOAD_PATHS = ("/api/scans", "/ct")
FORM_AND_JSON_LIMIT = 2 * 1024 * 1024
MAX_PROBLEMS = 50  # listed in one JSON error answer


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, problems: list[dict[str, Any]] | None = None,
           headers: dict[str, str] | None = None) -> Response:
    headers = {**SECURITY_HEADERS, **(headers or {})}  # the 500 handler answers outside the middleware
    if _is_api(request):
        body: dict[str, Any] = {"error": message}
        if problems is not None:
            body["problems"] = problems[:MAX_PROBLEMS]
        return JSONResponse(body, status_code=status, headers=headers)
    response = render(request, "error.html", status_code=status, status=status, message=message, user=None)
    response.headers.update(headers)
    return response


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaseError)
    async def case_error(request: Request, exc: CaseError) -> Response:
        problems = [{"path": p.path, "message": p.message} for p in exc.problems]
        return _error(request, 422, str(exc), problems)

    @app.exception_handler(KnowledgeBaseError)
    async def kb_error(request: Request, exc: KnowledgeBaseError) -> Response:
        log.error("knowledge base unavailable: %s", exc)
        return _error(request, 503, "the knowledge base failed validation; the server log lists the problems")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(HepcalError)
    async def hepcal_error(request: Request, exc: HepcalError) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(TooManyAttempts)
    async def too_many(request: Request, exc: TooManyAttempts) -> Response:
        return _error(request, 429, f"too many failed sign-ins; try again in {exc.retry_after} s",
                      headers={"retry-after": str(exc.retry_after)})

    @app.exception_handler(AuthRequired)
    async def auth_required(request: Request, exc: AuthRequired) -> Response:
        if _is_api(request):
            return _error(request, 401, "authentication required: send Authorization: Bearer <token> (POST /api/session gives one)",
                          headers={"www-authenticate": "Bearer"})
        return RedirectResponse("/login?next=" + quote(request.url.path, safe="/"), status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "this request did not come from a hepcal page (missing or wrong CSRF token); reload the page and try again")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"path": ".".join(str(x) for x in e.get("loc", ()))[:200], "message": str(e.get("msg", ""))[:300]} for e in exc.errors()]
        text = "; ".join(listed([f"{p['path']}: {p['message']}" for p in problems], 10))
        return _error(request, 422, "invalid request: " + text, problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        ref = secrets.token_hex(4)
        log.exception("unexpected error %s on %s %s", ref, request.method, request.url.path)
        return _error(request, 500, f"internal error (reference {ref}); the server log has the details")


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title="hepcal", version=__version__, routes=app.routes,
                             description="Decision support for calcified liver lesions. Cases follow the case format (docs/case-format.md).")
        schema.setdefault("components", {}).setdefault("schemas", {})["Case"] = api.case_schema()
        app.openapi_schema = schema
    return app.openapi_schema


def _docs_page(app: FastAPI) -> HTMLResponse:
    """The API's operations as a plain page (Swagger UI would need scripts from a CDN, which the
    content security policy forbids and an offline server cannot reach); the schema itself is
    at /openapi.json for any OpenAPI viewer."""
    rows = []
    for path, ops in _openapi(app)["paths"].items():
        for method, op in ops.items():
            rows.append(f"<tr><td><code>{html.escape(method.upper())}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td></tr>")
    body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hepcal API</title>"
            f"<link rel=\"stylesheet\" href=\"/static/hepcal.css\"></head><body><main><h1>hepcal API {html.escape(__version__)}</h1>"
            f"<p>The OpenAPI schema: <a href=\"/openapi.json\">/openapi.json</a>. Authenticate with "
            f"<code>Authorization: Bearer &lt;token&gt;</code>; <code>POST /api/session</code> gives a session token.</p>"
            f"<table><thead><tr><th>method</th><th>path</th><th>what</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"</main></body></html>")
    return HTMLResponse(body)


def create_app(settings: Settings, *, store: Store | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """The app for ``settings``; its lifespan opens (and migrates) the store unless one is given.

    ``pipeline`` replaces the CT pipeline (a test seam: ``scan_study`` and ``write_outputs``
    with the signatures of ``hepcal.imaging.pipeline`` and ``hepcal.imaging.outputs``; it is
    pickled into the worker process, so it must be importable).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None
        st = store if store is not None else open_store(settings.database_url)
        limits = JobLimits(settings.scan_memory_mb, settings.scan_timeout_s, settings.job_retention_days)
        runner = ScanRunner(st, settings.scans_dir, pipeline, limits)
        interrupted = st.interrupt_unfinished_jobs()
        if interrupted:
            log.warning("%d scan job(s) from a previous run were marked failed", interrupted)
        removed = runner.purge_expired()
        if removed:
            log.info("%d expired scan job(s) removed", removed)
        st.purge_sessions()
        app.state.services = Services(settings, st, runner)
        try:
            yield
        finally:
            runner.shutdown()
            if own:
                st.engine.dispose()

    app = FastAPI(title="hepcal", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _install_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_api_route("/api/docs", lambda: _docs_page(app), include_in_schema=False, response_class=HTMLResponse)
    app.include_router(viewer.router)
    app.include_router(reading.router)
    from importlib import resources

    app.mount("/static", StaticFiles(directory=str(resources.files("hepcal.web").joinpath("static"))), name="static")
    app.middleware("http")(csrf_cookie_middleware(settings))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(BodyLimit, upload_paths=UPLOAD_PATHS, upload_bytes=settings.max_upload_bytes + 1024 * 1024,
                       other_bytes=FORM_AND_JSON_LIMIT)
    app.add_middleware(SecurityHeaders)
    return app
