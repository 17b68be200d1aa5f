"""HTML → PDF with WeasyPrint (no network: every image is embedded as a data URI)."""

from __future__ import annotations


def _deny(url: str, *args: object, **kwargs: object) -> dict:
    """URL fetcher that refuses everything but data URIs: a report never downloads."""
    from weasyprint import default_url_fetcher

    if url.startswith("data:"):
        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError("external resources are not fetched")


def html_to_pdf(html: str) -> bytes:
    """The PDF bytes of a self-contained HTML page."""
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_deny).write_pdf()
