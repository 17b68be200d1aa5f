"""FastAPI dependencies: the app's services, the current user, and the write check (CSRF).

The credentials are declared with ``fastapi.security`` (a bearer token, the session cookie), so
the OpenAPI schema states them; the checking itself is :func:`hepcal.web.security.identify`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from hepcal.web.accounts import Identity
from hepcal.web.security import SESSION_COOKIE, AuthRequired, check_csrf, identify
from hepcal.web.services import Services

bearer_scheme = HTTPBearer(auto_error=False, description="A token from HEPCAL_TOKEN/HEPCAL_USERS or a session token from POST /api/session.")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The session cookie the sign-in page sets.")


def services(request: Request) -> Services:
    return request.app.state.services


def _identify(request: Request) -> tuple[Identity | None, bool]:
    svc = services(request)
    return identify(request, svc.settings, svc.store, svc.auth_required())


def current_user(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
    _cookie: Annotated[str | None, Depends(cookie_scheme)] = None,
) -> Identity:
    """The authenticated user; raises AuthRequired (401 for the API, login page for pages)."""
    who, _ = _identify(request)
    if who is None:
        raise AuthRequired()
    return who


async def writer(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
    _cookie: Annotated[str | None, Depends(cookie_scheme)] = None,
) -> Identity:
    """The user, for a request that changes something: it must also pass the CSRF check."""
    svc = services(request)
    who, from_bearer = _identify(request)
    if who is None:
        raise AuthRequired()
    await check_csrf(request, svc.settings, from_bearer, svc.auth_required())
    return who
