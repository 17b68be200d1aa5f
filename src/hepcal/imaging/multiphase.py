"""A multi-phase CT study: calcium found on the unenhanced series, each lesion's enhancement
measured in every other phase.

Real liver CT is multi-phase, and the enhancement pattern is one of the strongest discriminators
of a calcified mass. Each series' phase is measured on its images (aorta and liver attenuation,
``phase.detect_phase``), with the liver outlined once and carried to the other series through
patient coordinates. Detection and characterisation run on the unenhanced series when there is
one (calcium is most specific without contrast); every lesion with soft tissue is then measured
in the other phases (``enhancement.measure_lesion``) and its ``finding.enhancement`` comes from
the images, unless the clinician set it with ``--set``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepcal.errors import InputError
from hepcal.imaging.enhancement import measure_lesion
from hepcal.imaging.liver import LiverSegmenter, segment_liver
from hepcal.imaging.phase import detect_phase
from hepcal.imaging.pipeline import Progress, ScanResult, _assess, scan_volume
from hepcal.imaging.resample import resample_labels
from hepcal.imaging.volume import Volume

__all__ = ["read_phases", "scan_phases"]


def read_phases(path: str | Path) -> list[Volume]:
    """Every axial CT series of a DICOM folder (or .zip), each as a volume."""
    from hepcal.imaging.reading import _is_candidate, list_series, read_dicom_series

    infos = [i for i in list_series(path) if _is_candidate(i)]
    if not infos:
        raise InputError(f"{path}: no axial CT series found for a multi-phase scan")
    return [read_dicom_series(path, series=i.uid or i.number) for i in infos]


def _frame(volume: Volume) -> str | None:
    headers = volume.metadata.get("dicom_headers") or ()
    uid = str(getattr(headers[0], "FrameOfReferenceUID", "") or "") if headers else ""
    return uid or None


def scan_phases(
    volumes: Sequence[Volume],
    *,
    liver_mask: np.ndarray | None = None,
    overrides: Sequence[str] = (),
    segmenters: tuple[LiverSegmenter, ...] | None = None,
    progress: Progress | None = None,
    assess: bool = True,
) -> ScanResult:
    """Scan a multi-phase study. ``liver_mask`` (optional) lies on the grid of ``volumes[0]``."""
    if not volumes:
        raise InputError("a multi-phase scan needs at least one series")
    report = progress or (lambda step, frac: None)
    report("liver", 0.05)
    first = volumes[0]
    base = liver_mask.astype(bool) if liver_mask is not None else segment_liver(first, segmenters=segmenters).mask
    livers = [base] + [resample_labels(base.astype(np.uint8), first.affine, v, name="liver") > 0 for v in volumes[1:]]
    report("phase", 0.15)
    phases = [detect_phase(v, lv) for v, lv in zip(volumes, livers)]
    notes: list[str] = []
    frames = {_frame(v) for v in volumes}
    unenhanced = [k for k, p in enumerate(phases) if p.phase == "unenhanced"]
    ref = unenhanced[0] if unenhanced else int(np.argmin([p.aorta_hu if p.aorta_hu is not None else np.inf for p in phases]))
    if not unenhanced:
        notes.append(f"no unenhanced series: calcification was detected on the least enhanced series ({phases[ref].phase}); confirm it on an unenhanced or dual-energy series")
    result = scan_volume(volumes[ref], liver_mask=livers[ref], phase=phases[ref].phase, overrides=overrides, assess=False, progress=progress)
    others: dict[str, Volume] = {}
    for k, (v, p) in enumerate(zip(volumes, phases)):
        if k == ref:
            continue
        if p.phase in others or p.phase == phases[ref].phase:
            notes.append(f"two series look {p.phase}; the first was used")
            continue
        if len(frames) > 1 and _frame(v) != _frame(volumes[ref]):
            notes.append(f"the {p.phase} series is in another frame of reference; without registration its enhancement is not measured")
            continue
        others[p.phase] = v
    notes.append("multi-phase study: " + ", ".join(f"{p.phase} (aorta {p.aorta_hu:.0f} HU)" if p.aorta_hu is not None else p.phase for p in phases)
                 + f"; calcification detected on the {phases[ref].phase} series, enhancement measured in " + (", ".join(sorted(others)) or "no other phase"))
    set_by_user = any(o.split("=", 1)[0].strip() == "finding.enhancement" for o in overrides)
    report("enhancement", 0.85)
    cases, assessments = [], []
    for les in result.lesions:
        m = measure_lesion(les, volumes[ref], livers[ref], others) if others else None
        if m is not None:
            les.features["enhancement"] = m
            if m["enhancement"] and not set_by_user:
                les.finding["enhancement"] = m["enhancement"]
        case, a = _assess(les.finding, overrides, assess)
        cases.append(case)
        assessments.append(a)
    result.cases, result.assessments = cases, assessments
    result.notes = [*result.notes, *notes]
    report("done", 1.0)
    return result


def measurement_table(result: ScanResult) -> list[dict[str, Any]]:
    """Per lesion and phase, the medians behind the enhancement (for display)."""
    rows = []
    for les in result.lesions:
        m = les.features.get("enhancement")
        if not m:
            continue
        for phase, values in m["phases"].items():
            rows.append({"lesion": les.index, "phase": phase, **values})
    return rows
