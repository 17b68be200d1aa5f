"""Report downloads for a stored case, offered only when ``hepcal.report`` is installed."""

from __future__ import annotations

from fastapi.responses import Response

from hepcal.web.store import CaseRecord


def kb_version() -> str:
    try:
        from hepcal.knowledge import load

        return str(load().version)
    except Exception:  # shown as unknown; assessing will report the real problem
        return ""


def available_formats() -> list[str]:
    """Report formats this installation can produce (none until the report package exists)."""
    return []


def render_report(rec: CaseRecord, fmt: str) -> Response:
    raise LookupError(f"report format {fmt!r} is not available")
