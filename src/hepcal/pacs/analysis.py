"""One delivered study → the objects that go back to the PACS.

The same flow as ``hepcal scan --report``: the series is chosen by the rules of
``selection.yaml``, read and analysed by the imaging pipeline, every lesion assessed, and the
results written (findings.json, key images, the calcification SEG, the reports with the SR).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepcal.errors import InputError
from hepcal.pacs.selection import Choice, choose_series, summarise

__all__ = ["Analysis", "analyse_folder", "choose_in_folder"]

logger = logging.getLogger(__name__)


@dataclass
class Analysis:
    findings: Path
    choice: Choice
    to_send: list[Path] = field(default_factory=list)  # SEG and SR, in that order
    lesions: int = 0


def choose_in_folder(folder: Path) -> Choice:
    """Choose among the CT series of a folder of received instances (headers only)."""
    import pydicom

    groups: dict[str, list[Any]] = {}
    for path in sorted(p for p in folder.rglob("*.dcm") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (pydicom.errors.InvalidDicomError, OSError):
            continue
        groups.setdefault(str(getattr(ds, "SeriesInstanceUID", "")), []).append(ds)
    if not groups:
        raise InputError(f"{folder.name}: no DICOM instance was received")
    return choose_series([summarise(items[0], instances=len(items)) for items in groups.values()])


def analyse_folder(study: Path, results: Path, *, series: str | None = None, phase: str = "auto") -> Analysis:
    """Scan ``study`` (a folder of DICOM files), write everything into ``results``."""
    from hepcal.imaging.outputs import write_outputs
    from hepcal.imaging.pipeline import scan_study
    from hepcal.knowledge import load
    from hepcal.report.source import from_findings
    from hepcal.report.writer import write_reports

    choice = choose_in_folder(study)
    uid = series or choice.chosen.uid
    result = scan_study(study, series=uid, phase=phase)
    findings = write_outputs(result, results)
    kb = load()
    written = write_reports(from_findings(findings, kb, study=study), results, kb)
    send = []
    if result.seg_file:
        send.append(results / result.seg_file)
    if "sr.dcm" in written:
        send.append(written["sr.dcm"])
    logger.info("study %s: series %s, %d lesion(s), %d object(s) to send", study.name, uid, len(result.lesions), len(send))
    return Analysis(findings, choice, send, len(result.lesions))
