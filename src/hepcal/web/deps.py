"""FastAPI dependencies: the app's services, the current user, and the write check (CSRF)."""

from __future__ import annotations

from fastapi import Request

from hepcal.web.security import AuthRequired, check_csrf, identify
from hepcal.web.services import Services


def services(request: Request) -> Services:
    return request.app.state.services


def current_user(request: Request) -> str:
    """The authenticated user; raises AuthRequired (401 for the API, login page for pages)."""
    user, _ = identify(request, services(request).settings)
    if user is None:
        raise AuthRequired()
    return user


async def writer(request: Request) -> str:
    """The user, for a request that changes something: it must also pass the CSRF check."""
    settings = services(request).settings
    user, from_bearer = identify(request, settings)
    if user is None:
        raise AuthRequired()
    await check_csrf(request, settings, from_bearer)
    return user
