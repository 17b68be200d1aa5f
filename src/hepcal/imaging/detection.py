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
from hepcal.imaging import config as _config
from hepcal.imaging.config import PHASES, ImagingConfig, imaging_config
from hepcal.imaging.morphology import Organ, ball, bbox, dilate
from hepcal.imaging.volume import Volume

__all__ = ["Detection", "Focus", "Threshold", "detect_calcifications", "liver_box", "phase_threshold"]

#: Grid (mm) of the coarse liver distance map used to screen dense components.
COARSE_GRID_MM = 3.0
_FULL = np.ones((3, 3, 3), bool)  # 26-connectivity: a calcification is one 3-D object


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
    #: the liver of the crop with its surface bays closed: characterisation looks for a lesion's
    #: tissue in the same organ that detection accepted its calcium in
    organ: Organ | None = None


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
    box = bbox(liver, [int(np.ceil(margin_mm / s)) for s in spacing])
    if box is None:
        raise InputError("the liver mask is empty; nothing to search")
    return box  # type: ignore[return-value]


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

    Notes
    -----
    Every dense component that may come within the liver margin (a lower bound on its distance
    rules out bone far away) is measured in one pass over its voxels (``np.bincount``
    statistics), with the distance from the liver read off a distance map of a ~3 mm copy of the
    liver; only the few components that pass those tests get the exact surround test, in a crop
    around each of them (their boxes read off their own voxels, not off a pass over the whole label
    map). Nothing larger than the liver's bounding box is allocated, and the only box-sized arrays
    are one boolean mask and the int32 labels, relabelled in place at the dense voxels only.
    """
    cfg = config or imaging_config()
    det = cfg.detection
    if liver.shape != volume.shape:
        raise InputError(f"liver mask shape {liver.shape} differs from the image {volume.shape}")
    sp = volume.spacing
    context = det.liver_margin_mm + det.outside_extent_mm + 5
    crop = liver_box(liver, sp, context)
    image = volume.array[crop]
    # the organ: the mask with its surface bays closed, where a lesion bulging the surface lies
    organ = Organ.build(liver[crop], sp, det.bay_closing_mm, grid_mm=COARSE_GRID_MM)
    dense = image >= threshold.candidate_hu
    labels, n = ndi.label(dense, structure=_FULL, output=np.int32)
    foci: list[Focus] = []
    excluded: list[dict] = []
    if n == 0:
        return Detection(crop, labels, foci, threshold, excluded, organ)
    st = _component_stats(dense, labels, n, image, organ, det.liver_margin_mm)
    del dense
    vox_mm3 = volume.voxel_volume_mm3
    ring_fp = ball(det.surround_mm, sp)
    near_fp = ball(det.surround_tolerance_mm, sp)
    pad = [int(np.ceil((det.surround_mm + det.surround_tolerance_mm) / s)) + 1 for s in sp]
    keep = np.zeros(n + 1, dtype=np.int32)
    near = [int(lab) for lab in np.flatnonzero(st.inside > 0)]  # components nowhere near the liver are not reported
    screened = {lab: _screen(st, lab, threshold, det, vox_mm3) for lab in near}
    boxes = st.boxes([lab for lab in near if screened[lab] is None])  # only these are looked at closer
    for lab in near:
        mx, nvox = float(st.peak[lab]), int(st.nvox[lab])
        reason = screened[lab]
        if reason is None:
            surround, in_mask = _surround(labels, lab, boxes[lab], pad, organ, ring_fp, near_fp)
            if surround < det.min_liver_surround:
                reason = f"only {100 * surround:.0f}% of its surroundings are liver (rib or extrahepatic)"
            elif in_mask < 0.5 and mx < det.outside_min_peak_hu:
                reason = (
                    f"mostly outside the liver ({100 * in_mask:.0f}% inside) with a peak of only {mx:.0f} HU "
                    f"(< {det.outside_min_peak_hu:.0f} HU: bowel, vessel or bone edge)"
                )
        centroid = tuple(float(c) for c in st.centroid[:, lab])
        if reason is not None:
            excluded.append({"centroid_voxel": [round(c, 1) for c in centroid], "voxels": nvox, "max_hu": mx, "reason": reason})
            continue
        keep[lab] = len(foci) + 1
        foci.append(Focus(len(foci) + 1, boxes[lab], nvox, nvox * vox_mm3, mx, float(st.total[lab] / nvox), centroid))
    # relabel in place, at the dense voxels only (no second label array)
    np.put(labels, st.flat, keep[st.labels])
    return Detection(crop, labels, foci, threshold, excluded, organ)


def _screen(st: _Stats, lab: int, threshold: Threshold, det: _config.Detection, vox_mm3: float) -> str | None:
    """Why component ``lab`` is not a calcification, from its statistics alone (None: look closer)."""
    mx, nvox, inside, reach = float(st.peak[lab]), int(st.nvox[lab]), float(st.inside[lab]), float(st.reach[lab])
    if mx < threshold.definite_hu:
        return f"peak {mx:.0f} HU below the definite threshold {threshold.definite_hu:.0f} HU"
    if nvox * vox_mm3 < det.min_volume_mm3:
        return f"smaller than {det.min_volume_mm3} mm³ (noise)"
    if inside < det.min_inside_fraction:
        return f"only {100 * inside:.0f}% in the liver or its {det.liver_margin_mm:.0f} mm margin (rib, spine or extrahepatic)"
    if reach > det.outside_extent_mm:
        return f"reaches {reach:.0f} mm out of the liver (rib, spine or extrahepatic)"
    return None


@dataclass(frozen=True)
class _Stats:
    nvox: np.ndarray
    peak: np.ndarray
    total: np.ndarray
    centroid: np.ndarray  # (3, n + 1), crop index
    inside: np.ndarray  # fraction of voxels within the liver margin
    reach: np.ndarray  # largest distance (mm) from the liver
    flat: np.ndarray  # flat crop index of every dense voxel
    labels: np.ndarray  # the component of each of them
    measured: np.ndarray  # which of them were measured (those of the components near the liver)
    shape: tuple[int, ...]  # of the crop

    def boxes(self, wanted: list[int]) -> dict[int, tuple[slice, slice, slice]]:
        """The bounding box of each ``wanted`` (measured) component, as ``scipy.ndimage.find_objects`` gives it."""
        if not wanted:
            return {}
        pick = np.zeros(len(self.nvox), bool)
        pick[wanted] = True
        sel = self.measured[pick[self.labels[self.measured]]]
        lab = self.labels[sel]
        lo, hi = [], []
        for c in np.unravel_index(self.flat[sel], self.shape):
            first = np.full(len(self.nvox), np.iinfo(np.intp).max)
            last = np.full(len(self.nvox), -1)
            np.minimum.at(first, lab, c)
            np.maximum.at(last, lab, c)
            lo.append(first)
            hi.append(last)
        return {k: tuple(slice(int(a[k]), int(b[k]) + 1) for a, b in zip(lo, hi)) for k in wanted}  # type: ignore[misc]


def _component_stats(dense: np.ndarray, labels: np.ndarray, n: int, image: np.ndarray, organ: Organ, margin_mm: float) -> _Stats:
    """Per-component size, peak, mean, centroid and liver distance, in one pass over dense voxels.

    Only components with a voxel that may lie within the liver margin are measured (the others,
    bone far from the liver, keep zeros and ``inside`` 0, which is all detection asks of them).
    """
    flat = np.flatnonzero(dense)
    lab_all = np.take(labels, flat)
    coords = np.unravel_index(flat, labels.shape)
    near = np.zeros(n + 1, bool)
    near[lab_all[organ.may_lie_within(coords, margin_mm)]] = True
    measured = np.flatnonzero(near[lab_all])
    coords = tuple(c[measured] for c in coords)
    lab = lab_all[measured]
    vals = image[coords]
    nvox = np.bincount(lab, minlength=n + 1)
    count = np.maximum(nvox, 1)
    # the peak in the image's own type (numpy's fast path for ufunc.at), exact in float
    lowest = np.iinfo(vals.dtype).min if np.issubdtype(vals.dtype, np.integer) else -np.inf
    peak = np.full(n + 1, lowest, vals.dtype)
    np.maximum.at(peak, lab, vals)
    total = np.bincount(lab, weights=vals, minlength=n + 1)
    centroid = np.stack([np.bincount(lab, weights=c, minlength=n + 1) / count for c in coords])
    dist = organ.distance(coords)
    inside = np.bincount(lab, weights=dist <= margin_mm, minlength=n + 1) / count
    reach = np.zeros(n + 1)
    np.maximum.at(reach, lab, dist)
    return _Stats(nvox, peak, total, centroid, inside, reach, flat, lab_all, measured, labels.shape)


def _surround(
    labels: np.ndarray, lab: int, box: tuple[slice, ...], pad: list[int], organ: Organ, ring_fp: np.ndarray, near_fp: np.ndarray
) -> tuple[float, float]:
    """(fraction of a thin shell around component ``lab`` that is (nearly) liver, fraction of it in the mask).

    Computed exactly in a crop around the component: the crop holds every liver voxel that can be
    within the tolerance of the shell.
    """
    big = tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pad, labels.shape))
    comp = labels[big] == lab
    ring = dilate(comp, ring_fp)
    ring &= ~comp
    lv = organ.crop(big)
    in_mask = float(lv[comp].mean())
    if not ring.any() or not lv.any():
        return 0.0, in_mask
    # within the tolerance of the liver (same ball as a distance <= r), computed at the ring's voxels only
    near = ndi.binary_dilation(lv, near_fp, mask=ring)
    return float(near[ring].mean()), in_mask
