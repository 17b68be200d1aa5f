"""HTML → PDF with WeasyPrint. Nothing is fetched: images are data URIs, other URLs refused."""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    """The PDF bytes of a self-contained HTML page."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
