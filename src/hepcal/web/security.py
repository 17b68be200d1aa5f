"""Who is asking, and whether a state-changing request really comes from our own pages.

- Authentication: ``Authorization: Bearer <token>`` (API clients: a configured token or a session
  token from ``POST /api/session``) or the session cookie set by the login page (browsers), or,
  when ``HEPCAL_PROXY_USER_HEADER`` names one, a header set by a trusted reverse proxy. Sessions
  live in the store (:mod:`hepcal.web.accounts`): they expire and can be revoked. Without users,
  tokens or a proxy header the app is open, which the start-up check allows only on loopback.
- Cross-site request forgery: a random token in a cookie must come back in the
  ``X-CSRF-Token`` header or the ``csrf_token`` form field (double submit). Requests carrying a
  bearer token need no CSRF token, since a browser never adds that header on its own; neither
  do JSON requests, or requests with an ``X-CSRF-Token`` header, to an open loopback server:
  a cross-site page cannot send ``application/json`` or a custom header without a CORS
  preflight, which this app never grants.
- A size limit on request bodies, enforced while they arrive.
- The security headers on every answer, errors and static files included
  (:class:`SecurityHeaders`, the outermost middleware).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hepcal.web.accounts import DEFAULT_TEAM, Identity, token_digest
from hepcal.web.settings import Settings

CSRF_COOKIE = "hepcal_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "hepcal_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class AuthRequired(Exception):
    """No valid credentials: 401 for the API, a redirect to the login page for pages."""


class CsrfFailed(Exception):
    """A state-changing request without the matching CSRF token."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def match_token(token: str, settings: Settings) -> str | None:
    for known, user in settings.users.items():
        if hmac.compare_digest(token.encode(), known.encode()):
            return user
    return None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _session_identity(token: str, store: Any) -> Identity | None:
    if not token or len(token) > 200:
        return None
    ws = store.live_session(token_digest(token))
    return Identity(ws.user, ws.team) if ws is not None else None


def _token_identity(token: str, settings: Settings, store: Any) -> Identity | None:
    user = match_token(token, settings)
    return Identity(user, DEFAULT_TEAM) if user is not None else _session_identity(token, store)


def _proxy_identity(request: Request, settings: Settings, store: Any) -> Identity | None:
    name = request.headers.get(settings.proxy_user_header or "", "").strip()
    if not name or len(name) > 100 or not name.isprintable():
        return None
    known = store.get_user(name)
    return Identity(name, known.team if known is not None else DEFAULT_TEAM)


def identify(request: Request, settings: Settings, store: Any, auth_required: bool) -> tuple[Identity | None, bool]:
    """(who is asking or None, whether they came with a bearer token)."""
    local = Identity(settings.local_user, DEFAULT_TEAM)
    if settings.proxy_user_header:
        return _proxy_identity(request, settings, store), False
    token = bearer_token(request)
    if token is not None:
        return (_token_identity(token, settings, store), True) if auth_required else (local, True)
    if not auth_required:
        return local, False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (_session_identity(cookie, store) if cookie else None), False


def safe_next(target: str | None) -> str:
    """A same-site path to go back to after login (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/assess"
    return target


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def check_csrf(request: Request, settings: Settings, from_bearer: bool, auth_required: bool) -> None:
    """Raise :class:`CsrfFailed` unless the request is provably from our pages or an API client."""
    if request.method in SAFE_METHODS or (from_bearer and auth_required):
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    ctype = request.headers.get("content-type", "")
    if not sent and ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if cookie and sent and hmac.compare_digest(cookie.encode(), sent.encode()):
        return
    if not auth_required and _same_origin(request) and (ctype.startswith("application/json") or request.headers.get(CSRF_HEADER)):
        return  # a cross-site page can send neither JSON nor a custom header without a preflight
    raise CsrfFailed()


def csrf_cookie_middleware(settings: Settings) -> Callable[[Request, Callable[[Request], Awaitable[Any]]], Awaitable[Any]]:
    """Issue the CSRF cookie on first visit."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        token = request.cookies.get(CSRF_COOKIE)
        fresh = not token or len(token) < 20
        request.state.csrf = new_token() if fresh else token
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=False, samesite="strict",
                                secure=settings.secure_cookies, path="/")
        return response

    return middleware


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` to every HTTP answer that does not set them itself.

    A pure ASGI middleware placed outside every other one, so the answers of the host check, the
    body limit, the static files and the error handlers carry the headers too.
    """

    def __init__(self, app: ASGIApp):
        self.app = app
        self.raw = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers") or []}
                message = {**message, "headers": [*(message.get("headers") or []), *((k, v) for k, v in self.raw if k not in present)]}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuse request bodies over a limit with 413, counting bytes as they arrive.

    Uploads (paths in ``upload_paths``) may be up to ``upload_bytes``; anything else is a form or
    a JSON case and gets ``other_bytes``.
    """

    def __init__(self, app: ASGIApp, *, upload_paths: tuple[str, ...], upload_bytes: int, other_bytes: int):
        self.app = app
        self.upload_paths = upload_paths
        self.upload_bytes = upload_bytes
        self.other_bytes = other_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if scope["path"] in self.upload_paths else self.other_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(send, limit)
                return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = json.dumps({"error": f"request body too large; the limit here is {limit / 1024**2:.0f} MB (HEPCAL_MAX_UPLOAD_MB sets it for uploads)"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
