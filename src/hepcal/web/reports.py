"""Report downloads for a stored case, offered only when ``hepcal.report`` is installed.

The report is made from the stored assessment itself (not a fresh one), so it says exactly what
was saved, with the knowledge-base version it was made with.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from hepcal.errors import NotFound
from hepcal.web.store import CaseRecord

MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "fhir.json": "application/fhir+json"}


def kb_version() -> str:
    try:
        from hepcal.knowledge import load
        from hepcal.reasoning.network import network

        return network(load()).version
    except Exception:  # shown as unknown; assessing will report the real problem
        return ""


def available_formats() -> list[str]:
    """Report formats this installation can produce (none when the report package is absent)."""
    try:
        from hepcal.report import html, source  # noqa: F401
        from hepcal.report.context import report_context  # noqa: F401
    except ImportError:
        return []
    formats = ["html"]
    try:
        import weasyprint  # noqa: F401

        from hepcal.report.pdf import html_to_pdf  # noqa: F401

        formats.append("pdf")
    except (ImportError, OSError):
        pass
    try:
        from hepcal.report.fhir import bundle  # noqa: F401

        formats.append("fhir.json")
    except ImportError:
        pass
    return formats


def _source(rec: CaseRecord) -> Any:
    from hepcal.report.source import Lesion, ReportSource

    return ReportSource(kind="case", name=f"hepcal case {rec.id}", lesions=(Lesion(1, rec.assessment),),
                        knowledge_base=dict(rec.assessment.get("knowledge_base", {})))


def render_report(rec: CaseRecord, fmt: str) -> Response:
    """The report of a stored case in ``fmt`` (one of :func:`available_formats`)."""
    if fmt not in available_formats():
        raise NotFound(f"report format {fmt!r} is not available; available: {', '.join(available_formats()) or 'none'}")
    from hepcal.knowledge import load

    source = _source(rec)
    name = f"hepcal-case-{rec.id}"
    if fmt == "fhir.json":
        from hepcal.report.fhir import bundle

        body: bytes = json.dumps(bundle(source), indent=2, ensure_ascii=False).encode()
    else:
        from hepcal.report.context import report_context
        from hepcal.report.html import render_report as html_report

        html = html_report(report_context(source, load()))
        if fmt == "html":
            body = html.encode()
        else:
            from hepcal.report.pdf import html_to_pdf

            body = html_to_pdf(html)
    return Response(body, media_type=MEDIA[fmt], headers={"content-disposition": f'attachment; filename="{name}.{fmt}"'})
