"""The patient summary of a stored case, as the reports make it (``hepcal.report``), served in the app.

The page is the report package's own patient page, made from the stored assessment; nothing
of it is written again here. It carries its style inline, so its answer allows exactly that
style (by hash) and nothing else beyond the app's usual policy.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.responses import HTMLResponse

from hepcal.errors import InputError
from hepcal.web.security import CSP
from hepcal.web.store import CaseRecord

_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def patient_languages() -> list[str]:
    """Languages of the patient summary in this installation (none without the report package)."""
    try:
        from hepcal.report.messages import available_languages
        from hepcal.report.context import patient_context  # noqa: F401
    except ImportError:
        return []
    return list(available_languages())


def _csp_for(html: str) -> str:
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
                      for s in _STYLE.findall(html))
    return CSP.replace("style-src 'self'", f"style-src 'self' {hashes}") if hashes else CSP


def patient_page(rec: CaseRecord, lang: str) -> HTMLResponse:
    """The plain-language page of ``rec`` in ``lang`` (one of :func:`patient_languages`)."""
    languages = patient_languages()
    if lang not in languages:
        raise InputError(f"the patient summary is not available in {lang!r}; available: {', '.join(languages) or 'none (hepcal.report is not installed)'}")
    from hepcal.knowledge import load
    from hepcal.report.context import patient_context
    from hepcal.report.html import render_patient
    from hepcal.web.reports import _source

    html = render_patient(patient_context(_source(rec), load(), lang=lang))
    return HTMLResponse(html, headers={"content-security-policy": _csp_for(html)})
