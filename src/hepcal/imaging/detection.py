"""Detect calcifications: compact dense voxels in (or just at the surface of) the liver.

The threshold knows the contrast phase (``thresholds.yaml``): on unenhanced CT a calcification
is a connected set of voxels ≥ 130 HU containing at least one voxel ≥ 200 HU; on contrast
phases the table value (300 HU) is raised, when the blood pool was measured, to stay above the
enhancing vessels. Dense structures that lie mostly outside the liver margin, or reach far out
of it, are ribs, the spine or extrahepatic and are dropped with the reason kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.config import PHASES, ImagingConfig, imaging_config
from hepcal.imaging.volume import Volume

__all__ = ["Detection", "Focus", "Threshold", "detect_calcifications", "phase_threshold", "liver_box"]


@dataclass(frozen=True)
class Threshold:
    """The HU thresholds used and why."""

    phase: str
    candidate_hu: float
    definite_hu: float
    refs: tuple[str, ...]
    basis: str

    def to_dict(self) -> dict:
        return {
            "phase": self.phase,
            "candidate_hu": self.candidate_hu,
            "definite_hu": self.definite_hu,
            "references": list(self.refs),
            "basis": self.basis,
        }


@dataclass(frozen=True)
class Focus:
    """One connected dense component kept as a calcification (indices are in the crop)."""

    label: int
    box: tuple[slice, slice, slice]
    n_voxels: int
    volume_mm3: float
    max_hu: float
    mean_hu: float
    centroid: tuple[float, float, float]  # crop index


@dataclass
class Detection:
    """Calcifications found in a study, on the liver's bounding-box crop."""

    crop: tuple[slice, slice, slice]
    labels: np.ndarray  # int32 on the crop; 0 = none
    foci: list[Focus]
    threshold: Threshold
    excluded: list[dict] = field(default_factory=list)


def phase_threshold(phase: str, *, blood_pool_hu: float | None = None, config: ImagingConfig | None = None) -> Threshold:
    """The candidate/definite thresholds for ``phase`` (raised above a measured blood pool)."""
    cfg = config or imaging_config()
    if phase not in PHASES:
        raise InputError(f"unknown contrast phase {phase!r}; allowed: {', '.join(PHASES)}")
    t = cfg.calcification.for_phase(phase)
    cand, defi, basis = t.candidate_hu, t.definite_hu, t.basis
    if phase != "unenhanced" and blood_pool_hu is not None:
        floor = blood_pool_hu + cfg.calcification.vessel_margin_hu
        if floor > cand:
            cand, defi = floor, max(defi, floor)
            basis += f"; raised to {floor:.0f} HU = measured blood pool {blood_pool_hu:.0f} HU + {cfg.calcification.vessel_margin_hu:.0f} HU"
    return Threshold(phase, float(cand), float(defi), tuple(t.refs), basis)


def liver_box(liver: np.ndarray, spacing: np.ndarray, margin_mm: float) -> tuple[slice, slice, slice]:
    """Bounding box of the liver grown by ``margin_mm`` (clipped to the volume)."""
    if not liver.any():
        raise InputError("the liver mask is empty; nothing to search")
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(liver.any(axis=other))
        pad = int(np.ceil(margin_mm / spacing[axis]))
        box.append(slice(max(0, idx[0] - pad), min(liver.shape[axis], idx[-1] + pad + 1)))
    return tuple(box)  # type: ignore[return-value]


def detect_calcifications(
    volume: Volume,
    liver: np.ndarray,
    *,
    threshold: Threshold,
    config: ImagingConfig | None = None,
) -> Detection:
    """Find calcifications in the liver of ``volume``.

    Parameters
    ----------
    volume : Volume
        CT in HU.
    liver : (P, M, N) ndarray of bool
        Liver mask on the volume's grid.
    threshold : Threshold
        From :func:`phase_threshold`.

    Returns
    -------
    Detection
        Labelled foci on the liver crop, and the dense structures that were excluded, with why.
    """
    cfg = config or imaging_config()
    det = cfg.detection
    if liver.shape != volume.shape:
        raise InputError(f"liver mask shape {liver.shape} differs from the image {volume.shape}")
    sp = volume.spacing
    context = det.liver_margin_mm + det.outside_extent_mm + 5
    crop = liver_box(liver, sp, context)
    image = volume.array[crop]
    liv = liver[crop]
    dense = image >= threshold.candidate_hu
    labels, n = ndi.label(dense, structure=np.ones((3, 3, 3), bool))
    del dense
    foci: list[Focus] = []
    excluded: list[dict] = []
    if n == 0:
        return Detection(crop, labels.astype(np.int32, copy=False), foci, threshold, excluded)
    # distance (mm) from the liver, only where it matters: around dense voxels
    outside = ndi.distance_transform_edt(~liv, sampling=sp)
    vox_mm3 = volume.voxel_volume_mm3
    near_liver = outside <= det.surround_tolerance_mm
    ring_fp = _ball(det.surround_mm, sp)
    pad = [int(np.ceil(det.surround_mm / s)) + 1 for s in sp]
    keep = np.zeros(n + 1, dtype=np.int32)
    for lab, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        sel = labels[box] == lab
        vals = image[box][sel]
        mx = float(vals.max())
        nvox = int(sel.sum())
        dist = outside[box][sel]
        inside = float(np.mean(dist <= det.liver_margin_mm))
        reach = float(dist.max())
        centroid = tuple(float(b.start + c) for b, c in zip(box, np.argwhere(sel).mean(0)))
        if inside == 0:
            continue  # nowhere near the liver
        reason = None
        if mx < threshold.definite_hu:
            reason = f"peak {mx:.0f} HU below the definite threshold {threshold.definite_hu:.0f} HU"
        elif nvox * vox_mm3 < det.min_volume_mm3:
            reason = f"smaller than {det.min_volume_mm3} mm³ (noise)"
        elif inside < det.min_inside_fraction:
            reason = f"only {100 * inside:.0f}% in the liver or its {det.liver_margin_mm:.0f} mm margin (rib, spine or extrahepatic)"
        elif reach > det.outside_extent_mm:
            reason = f"reaches {reach:.0f} mm out of the liver (rib, spine or extrahepatic)"
        else:
            surround = _liver_surround(labels, lab, box, pad, near_liver, ring_fp)
            if surround < det.min_liver_surround:
                reason = f"only {100 * surround:.0f}% of its surroundings are liver (rib or extrahepatic)"
        if reason is not None:
            excluded.append({"centroid_voxel": [round(c, 1) for c in centroid], "voxels": nvox, "max_hu": mx, "reason": reason})
            continue
        keep[lab] = len(foci) + 1
        foci.append(Focus(len(foci) + 1, box, nvox, nvox * vox_mm3, mx, float(vals.mean()), centroid))
    del outside, near_liver
    labels = keep[labels]
    return Detection(crop, labels, foci, threshold, excluded)


def _ball(radius_mm: float, spacing: np.ndarray) -> np.ndarray:
    half = [int(np.floor(radius_mm / s)) for s in spacing]
    grid = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    return np.asarray(sum((g * s / radius_mm) ** 2 for g, s in zip(grid, spacing)) <= 1.0)


def _liver_surround(labels: np.ndarray, lab: int, box: tuple[slice, ...], pad: list[int], near_liver: np.ndarray, footprint: np.ndarray) -> float:
    """Fraction of a thin shell around component ``lab`` that is (nearly) liver."""
    big = tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pad, labels.shape))
    comp = labels[big] == lab
    ring = ndi.binary_dilation(comp, footprint) & ~comp
    return float(near_liver[big][ring].mean()) if ring.any() else 0.0
