"""The FastAPI application: routes, security middleware, and errors that never leak a trace.

``create_app(settings)`` opens the store (applying migrations), starts the scan runner and
wires everything; ``hepcal serve`` runs it under uvicorn.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from urllib.parse import quote

from hepcal import __version__
from hepcal.errors import HepcalError, KnowledgeBaseError
from hepcal.findings import CaseError
from hepcal.web import api, apidocs, pages, reading
from hepcal.web.scans import Pipeline, ScanRunner
from hepcal.web.security import AuthRequired, BodyLimit, CsrfFailed, csrf_cookie_middleware
from hepcal.web.services import Services
from hepcal.web.settings import Settings
from hepcal.web.store import Store, open_store
from hepcal.web.templating import render

log = logging.getLogger(__name__)

UPLOAD_PATHS = ("/api/scans", "/ct")
FORM_AND_JSON_LIMIT = 2 * 1024 * 1024


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, problems: list[dict[str, Any]] | None = None) -> Response:
    if _is_api(request):
        body: dict[str, Any] = {"error": message}
        if problems is not None:
            body["problems"] = problems
        return JSONResponse(body, status_code=status)
    return render(request, "error.html", status_code=status, status=status, message=message, user=None)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaseError)
    async def case_error(request: Request, exc: CaseError) -> Response:
        problems = [{"path": p.path, "message": p.message} for p in exc.problems]
        return _error(request, 422, str(exc), problems)

    @app.exception_handler(KnowledgeBaseError)
    async def kb_error(request: Request, exc: KnowledgeBaseError) -> Response:
        log.error("knowledge base unavailable: %s", exc)
        return _error(request, 503, "the knowledge base failed validation; the server log lists the problems")

    @app.exception_handler(HepcalError)
    async def hepcal_error(request: Request, exc: HepcalError) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError) -> Response:
        return _error(request, 404, str(exc.args[0]) if exc.args else "not found")

    @app.exception_handler(AuthRequired)
    async def auth_required(request: Request, exc: AuthRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "authentication required: send Authorization: Bearer <token>"},
                                status_code=401, headers={"www-authenticate": "Bearer"})
        return RedirectResponse("/login?next=" + quote(request.url.path, safe="/"), status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "this request did not come from a hepcal page (missing or wrong CSRF token); reload the page and try again")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"path": ".".join(str(x) for x in e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()]
        return _error(request, 422, "invalid request: " + "; ".join(f"{p['path']}: {p['message']}" for p in problems), problems)

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
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings, *, store: Store | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """The app for ``settings``; opens (and migrates) the store unless one is given.

    ``pipeline`` replaces the CT pipeline (a test seam: ``scan_study`` and ``write_outputs``
    with the signatures of ``hepcal.imaging.pipeline`` and ``hepcal.imaging.outputs``).
    """
    store = store or open_store(settings.database_url)
    runner = ScanRunner(store, settings.scans_dir, pipeline)
    interrupted = store.interrupt_unfinished_jobs()
    if interrupted:
        log.warning("%d scan job(s) from a previous run were marked failed", interrupted)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.shutdown()

    app = FastAPI(title="hepcal", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json")
    app.state.services = Services(settings, store, runner)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _install_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(reading.router)
    app.include_router(apidocs.router)  # /api/docs without a CDN
    from importlib import resources

    app.mount("/static", StaticFiles(directory=str(resources.files("hepcal.web").joinpath("static"))), name="static")
    app.middleware("http")(csrf_cookie_middleware(settings))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(BodyLimit, upload_paths=UPLOAD_PATHS, upload_bytes=settings.max_upload_bytes + 1024 * 1024,
                       other_bytes=FORM_AND_JSON_LIMIT)
    return app
