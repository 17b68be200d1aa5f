"""``scan_study``: read → check → liver → check → phase → detect → characterise → assess.

No global state. The study sanity checks (:mod:`hepcal.imaging.sanity`) run before any
analysis: a failed check refuses the study with the check named; a warning is kept in
:attr:`ScanResult.warnings` and written to ``findings.json`` as ``warnings: [{check, message}]``.

The batch runner calls this per study; heavy optional models (a TotalSegmentator runner) are
created once by the caller and passed in through ``segmenters``. Nothing here prints or exits;
progress is reported through an optional callback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepcal import __version__
from hepcal.errors import InputError
from hepcal.imaging.characterisation import Lesion, characterise
from hepcal.imaging.config import PHASES, imaging_config
from hepcal.imaging.detection import Detection, Threshold, detect_calcifications, phase_threshold
from hepcal.imaging.liver import LiverMask, LiverSegmenter, segment_liver
from hepcal.imaging.phase import PhaseEstimate, detect_phase
from hepcal.imaging.reading import read_study
from hepcal.imaging.sanity import StudyWarning, check_liver_mask, check_volume
from hepcal.imaging.volume import Volume

__all__ = ["PHASE_CHOICES", "ScanResult", "scan_study", "scan_volume"]

PHASE_CHOICES: tuple[str, ...] = ("auto", *PHASES)
Progress = Callable[[str, float], None]

NOTE = "The image analysis proposes; the clinician confirms."


@dataclass
class ScanResult:
    """Everything one scan found, and ``to_dict()`` = the content of ``findings.json``."""

    volume: Volume
    liver: LiverMask
    phase: PhaseEstimate
    phase_used: str
    threshold: Threshold
    detection: Detection
    lesions: list[Lesion]
    cases: list[dict[str, Any]]
    assessments: list[dict[str, Any] | None]
    notes: list[str] = field(default_factory=list)
    warnings: list[StudyWarning] = field(default_factory=list)
    key_images: dict[int, str] = field(default_factory=dict)
    overview_image: str | None = None
    seg_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        v = self.volume
        excluded = Counter(e["reason"].split(" (")[0].split(":")[0] if "HU below" not in e["reason"] else "below the definite threshold" for e in self.detection.excluded)
        return {
            "hepcal_version": __version__,
            "study": {
                "source": v.metadata.get("source"),
                "format": v.metadata.get("format"),
                "shape": list(v.shape),
                "spacing_mm": [round(float(s), 4) for s in v.spacing],
                "axes": "plane, row, column (canonical: inferior→superior, anterior→posterior, right→left)",
                "coordinates": "patient LPS millimetres",
                "series_description": v.metadata.get("series_description"),
            },
            "series_instance_uid": v.metadata.get("series_instance_uid") or None,  # the series analysed (the SR and SEG refer to it)
            "phase": {"used": self.phase_used, "detected": self.phase.to_dict()},
            "threshold": self.threshold.to_dict(),
            "liver": {
                "source": self.liver.source,
                "detail": self.liver.detail,
                "volume_ml": round(self.liver.n_voxels * v.voxel_volume_mm3 / 1000.0, 1),
            },
            "lesions": [self._lesion(les, case, a) for les, case, a in zip(self.lesions, self.cases, self.assessments)],
            "excluded_dense_structures": dict(sorted(excluded.items())),
            "overview_image": self.overview_image,
            "dicom_seg": self.seg_file,
            "notes": [NOTE, *self.notes],
            "warnings": [dict(w) for w in self.warnings],
        }

    def _lesion(self, les: Lesion, case: dict[str, Any], assessment: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "id": les.index,
            "finding": case["finding"],
            "case": case,
            "assessment": assessment,
            "centroid_mm_lps": list(les.centroid_mm),
            "centroid_voxel": list(les.centroid_voxel),
            "calcification_volume_mm3": les.calcium_volume_mm3,
            "couinaud_segment": None,  # not determined: no honest landmark-based method here
            "pattern_basis": les.why,
            "features": les.features,
            "mimics": les.mimics,
            "key_image": self.key_images.get(les.index),
        }


def _check_overrides(overrides: Sequence[str]) -> None:
    """Fail fast (before any image work) on a bad ``--set``."""
    if not overrides:
        return
    from hepcal.findings import apply_overrides, parse_case

    parse_case(apply_overrides({"finding": {"modality": ["ct"]}}, overrides))


def _assess(finding: dict[str, Any], overrides: Sequence[str], run: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from hepcal.findings import apply_overrides, parse_case

    case = apply_overrides({"finding": dict(finding)}, overrides) if overrides else {"finding": dict(finding)}
    parsed = parse_case(case)
    if not run:
        return case, None
    from hepcal.reasoning import assess

    return case, assess(parsed).to_dict()


def scan_volume(
    volume: Volume,
    *,
    liver_mask: str | Path | np.ndarray | None = None,
    liver_label: int | None = None,
    phase: str = "auto",
    overrides: Sequence[str] = (),
    segmenters: tuple[LiverSegmenter, ...] | None = None,
    progress: Progress | None = None,
    assess: bool = True,
) -> ScanResult:
    """Run the pipeline on a volume already in memory (phantoms, batch, tests)."""
    if phase not in PHASE_CHOICES:
        raise InputError(f"--phase {phase!r} is not allowed; choose one of {', '.join(PHASE_CHOICES)}")
    _check_overrides(overrides)
    report = progress or (lambda step, frac: None)
    report("checks", 0.05)
    warnings = [*volume.metadata.get("warnings", ()), *check_volume(volume)]
    report("liver", 0.1)
    if isinstance(liver_mask, np.ndarray):
        if liver_mask.shape != volume.shape or not liver_mask.any():
            raise InputError("the liver mask array must be non-empty and on the image grid")
        liver = LiverMask(liver_mask.astype(bool), "given mask", "array")
    else:
        liver = segment_liver(volume, mask_path=liver_mask, label=liver_label, segmenters=segmenters)
    warnings += check_liver_mask(volume, liver.mask, f"{liver.source}: {liver.detail}" if liver.source == "given mask" else liver.source)
    report("phase", 0.35)
    detected = detect_phase(volume, liver.mask)
    used = detected.phase if phase == "auto" else phase
    notes: list[str] = []
    if phase != "auto" and phase != detected.phase:
        notes.append(f"phase given as {phase}; the images look {detected.phase} (aorta {detected.aorta_hu} HU)")
    contrast_tag = str(volume.metadata.get("contrast_agent", "") or "")
    if used == "unenhanced" and contrast_tag and phase == "auto":
        notes.append(f"the DICOM header records a contrast agent ({contrast_tag!r}) but the aorta looks unenhanced; check the phase")
    if used != "unenhanced":
        notes.append(
            "contrast-enhanced study: dense foci above the phase threshold are proposed as calcification; "
            "confirm on an unenhanced series or dual-energy CT before relying on them [R70]"
        )
    blood = detected.aorta_hu if used in ("arterial", "portal", "delayed") else None
    threshold = phase_threshold(used, blood_pool_hu=blood)
    report("detection", 0.5)
    detection = detect_calcifications(volume, liver.mask, threshold=threshold)
    report("characterisation", 0.7)
    lesions = characterise(volume, liver.mask, detection)
    report("assessment", 0.9)
    cases, assessments = [], []
    for les in lesions:
        case, a = _assess(les.finding, overrides, assess)
        cases.append(case)
        assessments.append(a)
    if liver.source == "built-in":
        notes.append("liver outlined by the built-in method (no mask given, TotalSegmentator unavailable): " + (liver.detail or "ok"))
    report("done", 1.0)
    return ScanResult(volume, liver, detected, used, threshold, detection, lesions, cases, assessments, notes, warnings)


def scan_study(
    path: str | Path,
    *,
    liver_mask: str | Path | None = None,
    liver_label: int | None = None,
    phase: str = "auto",
    overrides: Sequence[str] = (),
    series: str | None = None,
    segmenters: tuple[LiverSegmenter, ...] | None = None,
    progress: Progress | None = None,
    assess: bool = True,
) -> ScanResult:
    """Scan one CT study (DICOM folder, .zip, or NIfTI) for calcified liver lesions.

    Raises
    ------
    hepcal.errors.InputError
        Bad study, mask, phase or override; the message says what is wrong and what is allowed.
    """
    if phase not in PHASE_CHOICES:
        raise InputError(f"--phase {phase!r} is not allowed; choose one of {', '.join(PHASE_CHOICES)}")
    _check_overrides(overrides)
    if progress:
        progress("reading", 0.0)
    volume = read_study(path, series=series)
    return scan_volume(
        volume,
        liver_mask=liver_mask,
        liver_label=liver_label,
        phase=phase,
        overrides=overrides,
        segmenters=segmenters,
        progress=progress,
        assess=assess,
    )


_ = imaging_config  # configuration is loaded lazily by each stage
