"""Jinja2 rendering of the pages, autoescaped: every string a user typed is escaped."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from hepcal import __version__
from hepcal.report.messages import messages
from hepcal.web import clock, present
from hepcal.web.checklist import NONE_OF_THESE, words
from hepcal.web.joblabels import job_about
from hepcal.web.patient import patient_languages


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("hepcal.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["percent"] = present.percent
    env.filters["finding_text"] = present.finding_text
    env.filters["words"] = words
    env.filters["when"] = clock.utc_text  # times always with their zone
    env.filters["iso"] = clock.utc_iso
    env.globals.update(job_about=job_about, patient_languages=patient_languages)
    env.globals.update(version=__version__, NONE_OF_THESE=NONE_OF_THESE,
                       action_words=present.action_words, outcome_choices=present.outcome_choices,
                       field_labels=present.field_labels, report_text=messages()["report"])
    return env


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page; ``signed_in`` shows the sign-out button, ``form_key`` is a fresh Idempotency-Key
    for a form that saves (a resubmitted form then returns the case stored the first time)."""
    from hepcal.web.security import SESSION_COOKIE

    html = environment().get_template(template).render(request=request, csrf=getattr(request.state, "csrf", ""),
                                                       path=request.url.path, signed_in=SESSION_COOKIE in request.cookies,
                                                       form_key=secrets.token_urlsafe(16), **context)
    return HTMLResponse(html, status_code=status_code)
