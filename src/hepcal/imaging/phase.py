"""Which contrast phase a study is in, from the attenuation of the aorta and the liver.

The aorta is looked for where it always is: a round soft-tissue/blood structure just in front of
(and slightly left of) the vertebral body, at the levels of the liver. Its median-filtered peak
attenuation there is the blood pool; with the liver's median it decides the phase by the rules of
``thresholds.yaml`` (estimated boundaries; see that file).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi

from hepcal.imaging.config import ImagingConfig, imaging_config
from hepcal.imaging.volume import Volume

__all__ = ["PhaseEstimate", "detect_phase", "find_aorta_hu"]


@dataclass(frozen=True)
class PhaseEstimate:
    """The detected phase with the measurements behind it."""

    phase: str
    aorta_hu: float | None
    liver_hu: float | None
    method: str

    def to_dict(self) -> dict:
        return {
            "phase": self.phase,
            "aorta_hu": None if self.aorta_hu is None else round(self.aorta_hu, 1),
            "liver_median_hu": None if self.liver_hu is None else round(self.liver_hu, 1),
            "method": self.method,
        }


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def _aorta_in_image(img: np.ndarray, spacing: np.ndarray, slices: np.ndarray | None = None) -> float | None:
    """Blood-pool HU of the aorta in one axial image (a z-median of liver levels), or None.

    The vertebral body anchors a search window in front of the spine; the aorta is the best
    circle of 8–14 mm radius there (circular Hough transform on edges) whose inside is
    homogeneous; its blood pool is the median inside 60% of the radius.

    A z-median image smooths away the texture of vertebral marrow, which then looks like an
    enhanced blood pool (it misread unenhanced phantoms as arterial). So a candidate must also
    lie in front of the vertebral body's centre, and, on the individual ``slices`` (K, M, N),
    be homogeneous in every slice and constant along the body axis: the aorta is a tube of
    blood, while marrow is trabecular in-plane and alternates with discs along the spine.
    A candidate must also differ from the ring around it by more than its own spread: a disc
    drawn inside the marrow is as dense as its surroundings.
    """
    from skimage.feature import canny
    from skimage.transform import hough_circle, hough_circle_peaks

    rs, cs = spacing
    body = ndi.binary_fill_holes(_largest(img > -400))  # the largest part: not the table, not the arms
    if body.sum() * rs * cs < 10000:
        return None
    rows, cols = np.nonzero(body)
    c0 = cols.mean()
    half = int(35 / cs)
    r_mid = int((rows.min() + rows.max()) / 2)
    window = np.zeros_like(body)
    window[r_mid:, max(0, int(c0) - half) : int(c0) + half] = True
    lab, n = ndi.label((img > 180) & body & window)
    if n == 0:
        return None
    areas = np.bincount(lab.ravel()) * rs * cs
    big = [k for k in range(1, n + 1) if areas[k] >= 150]  # ≥ 1.5 cm²: a vertebral body, not a process
    if not big:
        return None
    centres = ndi.center_of_mass(np.ones_like(lab), lab, big)
    k = int(np.argmin([c[0] for c in centres]))  # the most anterior (vertebral body, or an arterial-phase aorta)
    vr, vc = np.nonzero(lab == big[k])
    r_ant, cv = int(vr.min()), float(vc.mean())
    r_lo, r_hi = max(0, r_ant - int(55 / rs)), min(img.shape[0], r_ant + int(35 / rs))
    c_lo, c_hi = max(0, int(cv - 30 / cs)), min(img.shape[1], int(cv + 50 / cs))
    sub = np.clip(img[r_lo:r_hi, c_lo:c_hi].astype(np.float32), -200, 800)
    if min(sub.shape) < 10:
        return None
    # resample to ~1 mm so that radii are in millimetres
    zoom = (rs, cs)
    resample = max(abs(rs - 1), abs(cs - 1)) > 0.05
    sub1 = ndi.zoom(sub, zoom, order=1) if resample else sub
    # the vertebral body (the largest dense structure) in the 1 mm window: the aorta lies in front
    # of its centre (a merged arterial aorta + vertebra has its centre between the two)
    spine = big[int(np.argmax([areas[b] for b in big]))]
    dense_row = (float(np.nonzero(lab == spine)[0].mean()) - r_lo) * sub1.shape[0] / sub.shape[0]
    stack1 = None
    if slices is not None and len(slices) >= 3:
        stack = np.clip(slices[:, r_lo:r_hi, c_lo:c_hi].astype(np.float32), -200, 800)
        stack1 = np.stack([ndi.zoom(s, zoom, order=1) if resample else s for s in stack])
        stack1 = stack1[:, : sub1.shape[0], : sub1.shape[1]]
    edges = canny(sub1, sigma=2.0, low_threshold=15, high_threshold=40)
    cortex = sub1 > 450
    marrow = ndi.binary_fill_holes(cortex) & ~cortex  # inside a closed cortical ring: vertebra
    radii = np.arange(8, 15)
    acc = hough_circle(edges, radii)
    _, cx, cy, rad = hough_circle_peaks(acc, radii, total_num_peaks=8, min_xdistance=6, min_ydistance=6)
    yy, xx = np.ogrid[: sub1.shape[0], : sub1.shape[1]]
    best: tuple[float, float] | None = None
    for x, y, r in zip(cx, cy, rad):
        if marrow[y, x] or y > dense_row - 0.5 * r:
            continue  # inside the vertebra, or not in front of it
        disc = (yy - y) ** 2 + (xx - x) ** 2 <= (0.6 * r) ** 2
        inside = sub1[disc]
        if inside.size < 20:
            continue
        if stack1 is not None and disc.shape == stack1.shape[1:]:
            per_slice = np.percentile(stack1[:, disc], [25, 50, 75], axis=1)
            if np.median(per_slice[2] - per_slice[0]) > 60 or np.ptp(per_slice[1]) > 60:
                continue  # textured in-plane or changing along the body axis: marrow, not blood
        q25, med, q75 = np.percentile(inside, [25, 50, 75])
        if q75 - q25 > 60 or med > 600 or med < -50:
            continue  # not a homogeneous blood pool (bone, fat, bowel gas)
        if med < 20:
            continue  # fat or fluid, not blood
        d2 = (yy - y) ** 2 + (xx - x) ** 2
        ring = sub1[(d2 >= (1.2 * r) ** 2) & (d2 <= (1.6 * r) ** 2)]
        if np.mean(ring > 400) > 0.3:
            continue  # ringed by cortical bone: a vertebral body, not the aorta
        around = float(np.median(ring))
        score = abs(float(med) - around) - float(q75 - q25)  # a distinct, homogeneous disc
        if score <= 0:
            continue  # no brighter or darker than around it: part of a larger structure (marrow), not a vessel
        if best is None or score > best[0]:
            best = (score, float(med))
    return None if best is None else best[1]


def find_aorta_hu(volume: Volume, liver: np.ndarray, *, max_slices: int = 9) -> float | None:
    """The aorta's blood-pool HU at liver levels (z-median image); None when not found."""
    planes = np.flatnonzero(liver.any(axis=(1, 2)))
    if planes.size == 0:
        return None
    lo, hi = np.percentile(planes, [20, 80]).astype(int)
    picks = np.unique(np.linspace(lo, hi, min(max_slices, hi - lo + 1)).astype(int))
    slices = volume.array[picks].astype(np.float32)
    return _aorta_in_image(np.median(slices, axis=0), volume.spacing[1:], slices)


def detect_phase(volume: Volume, liver: np.ndarray, *, config: ImagingConfig | None = None) -> PhaseEstimate:
    """Estimate the contrast phase (unenhanced, arterial, portal or delayed)."""
    rules = (config or imaging_config()).phase
    liver_hu = float(np.median(volume.array[liver])) if liver.any() else None
    aorta = find_aorta_hu(volume, liver)
    if aorta is None:
        # no spine/aorta in view: the liver alone tells enhanced from not, not which phase
        phase = "portal" if liver_hu is not None and liver_hu >= rules.unenhanced_below_hu - 20 else "unenhanced"
        return PhaseEstimate(phase, None, liver_hu, "liver attenuation only (aorta not found)")
    if aorta < rules.unenhanced_below_hu:
        phase = "unenhanced"
    elif aorta >= rules.arterial_aorta_above_hu and liver_hu is not None and aorta - liver_hu >= rules.arterial_aorta_minus_liver_hu:
        phase = "arterial"
    elif aorta < rules.delayed_below_hu:
        phase = "delayed"
    else:
        phase = "portal"
    return PhaseEstimate(phase, aorta, liver_hu, "aorta and liver attenuation")
