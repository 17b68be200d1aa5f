"""Write every report of a source into one folder: the edge where files are made.

``report.html``, ``report.pdf``, ``patient.html``, ``fhir.json`` always; ``sr.dcm`` when the
source is a scan of a DICOM study. Nothing identifying is logged: the log names only which
files were written and how many lesions they cover.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from hepcal.errors import InputError
from hepcal.knowledge import KnowledgeBase
from hepcal.report import fhir
from hepcal.report.context import patient_context, report_context, utc_now
from hepcal.report.html import render_patient, render_report
from hepcal.report.messages import section_language
from hepcal.report.pdf import html_to_pdf
from hepcal.report.source import ReportSource

logger = logging.getLogger(__name__)

REPORT_FILES = ("report.html", "report.pdf", "patient.html", "fhir.json")


def write_reports(
    source: ReportSource,
    out_dir: str | Path,
    kb: KnowledgeBase,
    *,
    lang: str = "en",
    now: datetime | None = None,
    pdf: bool = True,
) -> dict[str, Path]:
    """Write the reports of ``source`` into ``out_dir`` (created if needed); returns name → path.

    ``lang`` is the patient summary's language; the other documents use it when its catalogue
    covers them, else English.

    ``now`` is the date the reports state (default: the current UTC time); fix it to reproduce
    a report byte for byte (the PDF embeds its own creation date).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder; --out needs a folder for the report files")
    out.mkdir(parents=True, exist_ok=True)
    when = now or utc_now()
    written: dict[str, Path] = {}

    html = render_report(report_context(source, kb, lang=section_language(lang, "report"), now=when))
    written["report.html"] = _write_text(out / "report.html", html)
    if pdf:
        path = out / "report.pdf"
        path.write_bytes(html_to_pdf(html))
        written["report.pdf"] = path
    written["patient.html"] = _write_text(out / "patient.html", render_patient(patient_context(source, kb, lang=lang, now=when)))
    bundle = fhir.bundle(source, lang=section_language(lang, "fhir"), now=when)
    fhir.validate(bundle)
    written["fhir.json"] = _write_text(out / "fhir.json", json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
    if source.kind == "scan" and source.study is not None and source.study.is_dir():
        from hepcal.report.sr import write_sr

        sr = write_sr(source, out / "sr.dcm", now=when)
        if sr is not None:
            written["sr.dcm"] = sr
    logger.info("wrote %d report file(s) for %d lesion(s): %s", len(written), len(source.lesions), ", ".join(written))
    return written


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
