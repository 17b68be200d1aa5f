"""Group calcifications into lesions and describe each in the case format's vocabulary.

A lesion is one or more calcified foci together with the soft-tissue or fluid component they
surround or sit in (liver-margin tissue clearly below the liver's attenuation, touching or
enclosed by the calcium). Shape measures come from scikit-image and scipy (regionprops,
distance transforms, geodesic distances); the pattern is named by the ordered rules of
``thresholds.yaml`` (``patterns``), so the mapping from measurements to words is data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from scipy.cluster.hierarchy import DisjointSet
from scipy.spatial import cKDTree
from skimage.measure import regionprops

from hepcal.imaging.config import ImagingConfig, imaging_config
from hepcal.imaging.detection import COARSE_GRID_MM, Detection
from hepcal.imaging.morphology import Organ, ball, bbox, branching, closing, coarsen, diameter, dilate, distance_to, dots, refine, solidity
from hepcal.imaging.volume import Volume

__all__ = ["Lesion", "characterise", "name_pattern", "pattern_candidates"]


@dataclass
class Lesion:
    """One calcified lesion: where it is, what it measures, and its case-format finding."""

    index: int
    foci: list[int]  # focus labels in the detection
    calcium: np.ndarray  # bool, on the lesion box
    tissue: np.ndarray  # bool, on the lesion box
    box: tuple[slice, slice, slice]  # in volume indices
    centroid_voxel: tuple[float, float, float]
    centroid_mm: tuple[float, float, float]
    calcium_volume_mm3: float
    features: dict[str, Any]
    pattern: str
    why: str
    finding: dict[str, Any]
    mimics: list[str] = field(default_factory=list)
    #: patterns the measurements do not tell apart (empty when the pattern is named with confidence)
    candidates: list[str] = field(default_factory=list)

    @property
    def pattern_uncertain(self) -> bool:
        return len(self.candidates) > 1

    @property
    def pattern_label(self) -> str:
        """The pattern as shown to a reader: its name, or the candidates when left uncertain."""
        return "uncertain: " + " / ".join(self.candidates) if self.pattern_uncertain else ", ".join(self.finding.get("calcification", [self.pattern]))


def name_pattern(features: dict[str, Any], config: ImagingConfig | None = None) -> tuple[str, str]:
    """The first rule of ``thresholds.yaml`` whose conditions hold: (pattern, why).

    The pattern is ``"uncertain"`` when that rule says the measurements do not tell its
    candidates apart (:func:`pattern_candidates`).
    """
    rule = _first_rule(features, config)
    return (rule.pattern, rule.why) if rule else ("coarse", "no rule matched")


def pattern_candidates(features: dict[str, Any], config: ImagingConfig | None = None) -> list[str]:
    """The patterns the first matching rule leaves open (empty when it names one)."""
    rule = _first_rule(features, config)
    return list(rule.candidates) if rule else []


def _first_rule(features: dict[str, Any], config: ImagingConfig | None) -> Any:
    for rule in (config or imaging_config()).patterns.rules:
        if all(c.holds(features) for c in rule.when):
            return rule
    return None


def _axes(points_mm: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Elongation (sqrt of largest/smallest inertia eigenvalue), principal axis, centre."""
    c = points_mm.mean(0)
    if len(points_mm) < 4:
        return 1.0, np.array([1.0, 0, 0]), c
    w, v = np.linalg.eigh(np.cov((points_mm - c).T) + np.eye(3) * 1e-3)
    return float(np.sqrt(w[-1] / w[0])), v[:, -1], c


def _hollow(points_mm: np.ndarray, axis: np.ndarray, centre: np.ndarray) -> int:
    """1 when the mid-section of an elongated calcification has no calcium on its axis."""
    rel = points_mm - centre
    t = rel @ axis
    mid = np.abs(t) <= 3.0
    if mid.sum() < 5:
        return 0
    radial = np.linalg.norm(rel[mid] - np.outer(t[mid], axis), axis=1)
    return int(radial.min() >= 1.0 and radial.max() <= 8.0)


def characterise(
    volume: Volume,
    liver: np.ndarray,
    detection: Detection,
    *,
    config: ImagingConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Lesion]:
    """Group the detected foci into lesions and describe each one.

    Parameters
    ----------
    volume : Volume
        CT in HU.
    liver : (P, M, N) ndarray of bool
        The liver mask used for detection.
    detection : Detection
        From :func:`hepcal.imaging.detection.detect_calcifications`.
    progress : callable, optional
        ``progress(done, total)`` after each lesion.

    Notes
    -----
    Foci within ``group_distance_mm`` of each other form a group; each group is analysed in its
    own neighbourhood (its box grown by :data:`CONTEXT_MM`, and grown again while the tissue
    found reaches its edge), where the soft-tissue or fluid component around it is found. Groups
    that share a tissue component are merged and analysed again. Work and memory therefore grow with the number and size of the lesions, not with the
    size of the liver: nothing study-sized is allocated here.
    """
    cfg = config or imaging_config()
    cc = cfg.characterisation
    if not detection.foci:
        return []
    sp = volume.spacing
    crop = detection.crop
    image = volume.array[crop]
    liv = liver[crop]
    labels = detection.labels
    foci = {f.label: f for f in detection.foci}
    sets = _Groups(foci)
    for a, b in _near_pairs(detection, sp, cc.group_distance_mm):
        sets.union(a, b)
    # the organ detection accepted the calcium in (built the same way when a caller made the
    # detection itself), so that both steps mean the same liver
    organ = detection.organ or Organ.build(liv, sp, cfg.detection.bay_closing_mm, grid_mm=COARSE_GRID_MM)
    study = _Crop(foci, labels, image, liv, sp, cfg, organ, detection.threshold.candidate_hu)
    regions: dict[int, _Region] = {}
    pending = set(sets.roots())
    while pending:
        root = sets.find(pending.pop())
        labs = sets.members(root)
        region = _analyse_neighbourhood(labs, study)
        linked = region.linked - set(labs)
        if linked:  # a tissue component shared with other foci: one lesion, analysed again as one
            for other in linked:
                regions.pop(sets.find(other), None)
                sets.union(root, other)
            regions.pop(root, None)
            pending = {sets.find(r) for r in pending} | {sets.find(root)}
            continue
        regions[root] = region
    # liver depth on a coarse grid of the crop (cheap), for location
    factors = tuple(max(1, int(round(3.0 / s))) for s in sp)
    liv_coarse = liv[tuple(slice(k // 2, None, k) for k in factors)]  # block centres
    depth_coarse = ndi.distance_transform_edt(liv_coarse, sampling=sp * np.array(factors))
    max_depth = float(depth_coarse.max()) or 1.0
    crop_start = np.array([c.start for c in crop])

    def depth_at(idx_vol: np.ndarray) -> np.ndarray:
        q = np.clip(np.round((idx_vol - crop_start - np.array(factors) // 2) / np.array(factors)).astype(int), 0, np.array(depth_coarse.shape) - 1)
        return depth_coarse[q[:, 0], q[:, 1], q[:, 2]]

    # diffuse: many small tissue-less groups scattered through the liver become one finding
    # (a small focus blooms to two or three voxels: at coarse voxels the limit is that)
    small = max(cc.diffuse_max_focus_mm, cc.dot_max_voxels * float(np.prod(sp)) ** (1 / 3))
    bare = [r for r, reg in regions.items() if not reg.tissue.any() and max(_focus_size(labels, l, foci[l], sp) for l in sets.members(r)) <= small]
    diffuse_roots = set(bare) if len(bare) >= cc.diffuse_min_foci else set()
    items: list[tuple[list[int], _Region | None]] = []
    if diffuse_roots:
        items.append(([l for r in sorted(diffuse_roots) for l in sets.members(r)], None))
    items += [(sets.members(r), regions[r]) for r in sorted(regions) if r not in diffuse_roots]

    lesions: list[Lesion] = []
    for n, (labs, region) in enumerate(items, start=1):
        if region is None:  # the diffuse finding: the box of all its foci, no tissue
            sub = _union_box([foci[l].box for l in labs], labels.shape, pad=1)
            gmask = np.isin(labels[sub], labs)
            gtissue = np.zeros_like(gmask)
            smooth = outline = None
            surround = (0.0, 0.0)
        else:
            sub = region.sub
            gmask = np.isin(region.labels, labs)
            gtissue = region.tissue
            smooth = region.smooth
            outline = region.outline
            surround = (region.surround_delta_hu, region.surround_t)
        origin = crop_start + np.array([s.start for s in sub])
        lesions.append(_describe(n, labs, gmask, gtissue, smooth, outline, sp, origin, volume, depth_at, max_depth, region is None, foci, cfg, surround))
        if progress is not None:
            progress(n, len(items))
    # count: the number of calcified lesions, or of foci for clusters of bare foci
    for les in lesions:
        if les.pattern == "punctate":  # dots a bridge of partial volume joins are still apart
            les.finding["count"] = _count_word(les.features["n_dots"], cc)
        elif les.pattern == "diffuse":
            les.finding["count"] = _count_word(les.features["n_foci"], cc)
        else:
            les.finding["count"] = _count_word(len(lesions), cc)
    return lesions


#: How far around a group of foci its lesion is looked for first (mm): room for the liver around
#: it that serves as reference and for the tissue of most lesions. When the tissue found reaches
#: the edge of that neighbourhood (a large mass around a small calcification), the search is
#: repeated with twice the room, up to MAX_CONTEXT_MM.
CONTEXT_MM = 25.0
MAX_CONTEXT_MM = 100.0


#: Grid (mm) of the liver distance that bounds a lesion's tissue to the liver margin: a few mm
#: on a 10 mm margin do not change which tissue belongs to a lesion, and the coarse grid is cheap.
MARGIN_GRID_MM = 4.0

#: Gaps up to this size between a lesion's calcium and its tissue are closed in its outline.
LESION_CLOSING_MM = 3.0

#: Liver voxels closer than this to calcium, or to any other voxel at calcium density (bone a
#: liver mask overlaps), are not used as the liver's reference attenuation (partial volume and
#: blur of the dense voxels brighten them).
REFERENCE_GAP_MM = 10.0


@dataclass
class _Region:
    """The neighbourhood of one group of foci and what was found there (crop indices)."""

    sub: tuple[slice, slice, slice]
    labels: np.ndarray  # detection labels
    smooth: np.ndarray  # float32 HU, smoothed
    tissue: np.ndarray  # bool: the group's soft-tissue or fluid component
    linked: set[int]  # focus labels joined to the group (by distance or by shared tissue)
    outline: np.ndarray  # bool: the whole lesion (calcium and tissue, gaps closed, holes filled)
    #: how far the shell around the calcium lies below the liver reference (HU), and that
    #: difference in standard errors of the shell's mean (region statistics)
    surround_delta_hu: float = 0.0
    surround_t: float = 0.0


class _Groups:
    """Groups of foci that form one lesion (scipy's union-find), each named by its smallest label.

    Naming a group by its smallest focus label keeps the lesions' order independent of how the
    union-find picks its roots.
    """

    def __init__(self, items: Iterable[int]) -> None:
        self._sets = DisjointSet(items)

    def find(self, i: int) -> int:
        return min(self._sets.subset(i))

    def union(self, a: int, b: int) -> None:
        self._sets.merge(a, b)

    def roots(self) -> list[int]:
        return sorted(min(s) for s in self._sets.subsets())

    def members(self, root: int) -> list[int]:
        return sorted(self._sets.subset(root))


def _near_pairs(detection: Detection, sp: np.ndarray, distance_mm: float) -> list[tuple[int, int]]:
    """Pairs of foci whose calcium comes within ``distance_mm`` of each other.

    Boxes screen the pairs; a k-d tree of one focus's voxels gives the exact gap for the rest.
    """
    foci = detection.foci
    if len(foci) < 2:
        return []
    lo = np.array([[s.start for s in f.box] for f in foci]) * sp
    hi = np.array([[s.stop - 1 for s in f.box] for f in foci]) * sp
    gap = np.maximum(0.0, np.maximum(lo[:, None] - hi[None], lo[None] - hi[:, None]))
    close = np.sqrt((gap**2).sum(-1)) <= distance_mm
    pts: dict[int, np.ndarray] = {}
    trees: dict[int, cKDTree] = {}

    def points(k: int) -> np.ndarray:
        if k not in pts:
            f = foci[k]
            pts[k] = (np.argwhere(detection.labels[f.box] == f.label) + [s.start for s in f.box]) * sp
        return pts[k]

    pairs = []
    for i, j in zip(*np.nonzero(np.triu(close, 1))):
        if i not in trees:
            trees[i] = cKDTree(points(i))
        d, _ = trees[i].query(points(j), distance_upper_bound=distance_mm)
        if np.isfinite(d).any():
            pairs.append((foci[i].label, foci[j].label))
    return pairs


def _union_box(boxes: Iterable[tuple[slice, ...]], shape: tuple[int, ...], pad: Sequence[int] | int = 0) -> tuple[slice, slice, slice]:
    boxes = list(boxes)
    pads = [pad] * 3 if isinstance(pad, int) else list(pad)
    return tuple(  # type: ignore[return-value]
        slice(max(0, min(b[ax].start for b in boxes) - pads[ax]), min(shape[ax], max(b[ax].stop for b in boxes) + pads[ax]))
        for ax in range(3)
    )


@dataclass(frozen=True)
class _Crop:
    """What every neighbourhood is cut from: the detection's crop of the study."""

    foci: dict
    labels: np.ndarray  # detection labels
    image: np.ndarray  # HU
    liver: np.ndarray  # bool
    spacing: np.ndarray
    config: ImagingConfig
    organ: Organ  # the liver with its surface bays closed, as detection used it
    dense_hu: float  # detection's candidate threshold: anything at or above it is not parenchyma


def _analyse_neighbourhood(labs: list[int], crop: _Crop) -> _Region:
    """:func:`_analyse_region` in a neighbourhood grown until the lesion's tissue fits in it."""
    context = CONTEXT_MM
    while True:
        ctx = np.array([int(np.ceil(context / s)) for s in crop.spacing])
        region = _analyse_region(labs, crop, ctx)
        if context >= MAX_CONTEXT_MM or not _reaches_edge(region.tissue, region.sub, crop.labels.shape):
            return region
        context = min(2 * context, MAX_CONTEXT_MM)


def _reaches_edge(mask: np.ndarray, sub: tuple[slice, ...], shape: tuple[int, ...]) -> bool:
    """True when ``mask`` touches a face of its box that is not also a face of the whole crop."""
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax], hi[ax] = 0, -1
        if sub[ax].start > 0 and mask[tuple(lo)].any():
            return True
        if sub[ax].stop < shape[ax] and mask[tuple(hi)].any():
            return True
    return False


def _analyse_region(labs: list[int], crop: _Crop, ctx: np.ndarray) -> _Region:
    """Find the soft-tissue or fluid component of the group ``labs`` in its neighbourhood.

    The search runs on a working grid of about ``working_grid_mm`` (block means of the HU,
    blocks of whole voxels): a soft-tissue or fluid component is a smooth, centimetre-sized
    thing, and a fixed grid makes the result (and the cost) the same for a 0.7 mm and a 1.5 mm
    study. The component is brought back to the study's grid for the shape measures.
    """
    cfg, sp, organ = crop.config, crop.spacing, crop.organ
    labels_crop, image_crop, liv_crop = crop.labels, crop.image, crop.liver
    cc = cfg.characterisation
    sub = _union_box([crop.foci[l].box for l in labs], labels_crop.shape, pad=[int(c) for c in ctx])
    labels_full = labels_crop[sub]
    f = tuple(max(1, int(cc.working_grid_mm / s + 1e-9)) for s in sp)
    wsp = sp * np.array(f)
    image = coarsen(image_crop[sub], f, "mean", np.float32)
    labels = coarsen(labels_full, f, "max", labels_full.dtype)
    liv = coarsen(liv_crop[sub], f, "mean", np.float32) >= 0.5
    calc = labels > 0
    smooth = _smooth_without(image, ndi.binary_dilation(calc), cc.smoothing_sigma_mm / wsp) if cc.smoothing_sigma_mm > 0 else image
    near_calc = distance_to(calc, wsp, max(REFERENCE_GAP_MM, cc.touch_mm, cc.group_distance_mm / 2))
    # the reference is the liver *around* a lesion: voxels clearly darker than the liver's own
    # level are the lesion's tissue and must not pull the reference down (a 40 mm mass inside a
    # 20 mm Gaussian otherwise lowers the reference to within a few HU of itself)
    ref_sel = liv & (_dense_distance(image, calc, near_calc, crop.dense_hu, wsp) > REFERENCE_GAP_MM)
    if ref_sel.any():
        ref_sel &= smooth >= float(np.median(smooth[ref_sel])) - cc.hypo_delta_hu
    # a faint mass is found by its mean over a region, not voxel by voxel: a broader smoothing
    # proposes it, and each candidate region must differ from the liver around it by a clear
    # margin measured against the noise of its mean (region statistics)
    # (made only when the clear search finds too little, or a clear part may lie in a fainter mass)
    cache: dict[str, np.ndarray] = {}

    def broad() -> np.ndarray:
        if "broad" not in cache:
            cache["broad"] = _smooth_without(image, ndi.binary_dilation(calc), cc.region_sigma_mm / wsp)
        return cache["broad"]

    noise = _noise_sd(image, ref_sel)
    in_organ = coarsen(organ.crop(sub), f, "mean", np.float32) >= 0.5
    tissue = np.zeros_like(calc)
    for _ in range(2):  # again without the tissue found: a large faint mass lowers its own reference
        liver_ref = _local_liver_reference(smooth, ref_sel, wsp, cc.reference_sigma_mm)
        tissue = _tissue(image, smooth, broad, liver_ref, calc, near_calc, in_organ, noise, wsp, cfg)
        if not tissue.any():
            break
        grown = ref_sel & ~dilate(tissue, ball(cc.region_sigma_mm, wsp))
        if grown.sum() == ref_sel.sum() or not grown.any():
            break
        ref_sel = grown
    surround = _surround(image, liver_ref, calc, near_calc, in_organ, noise, wsp, cc)
    del liver_ref, ref_sel
    # the group: calcium within group_distance of each other, or sharing a tissue component
    joined = (near_calc <= cc.group_distance_mm / 2) | ndi.binary_dilation(tissue)
    glab, _ = ndi.label(joined)
    del joined
    own = sorted({int(np.bincount(glab[labels == l]).argmax()) for l in labs if np.any(labels == l)})
    mine = np.isin(glab, own)
    linked = {int(v) for v in np.unique(labels[mine & calc])}
    shape = labels_full.shape
    tissue &= mine
    # the lesion's outline: the bright halo of the calcium separates it from the tissue, so the
    # gap is closed before holes are filled
    outline = ndi.binary_fill_holes(closing(tissue | np.isin(labels, labs), LESION_CLOSING_MM, wsp))
    tissue = refine(tissue, f, shape) & (labels_full == 0)
    return _Region(sub, labels_full, refine(smooth, f, shape), tissue, linked, refine(outline, f, shape), *surround)


def _surround(image: np.ndarray, liver_ref: np.ndarray, calc: np.ndarray, near_calc: np.ndarray, in_organ: np.ndarray, noise: float, wsp: np.ndarray, cc: Any) -> tuple[float, float]:
    """How far the shell around the calcium (``surround_mm``, beyond its partial-volume bloom)
    lies below the liver around it: (mean HU below, that in standard errors of the mean).

    Calcium within a mass sits in tissue darker than the liver even when the mass is too faint
    or too small to be outlined; calcium in the parenchyma sits in liver.
    """
    lo, hi = cc.surround_mm
    bloom = max(lo, 1.01 * float(wsp.max()))
    shell = (near_calc > bloom) & (near_calc <= hi) & in_organ & ~calc & (image > cc.fat_floor_hu)
    below, t = _below(shell, image, liver_ref, noise, cc)
    return round(below, 1), round(t, 1)


def _below(sel: np.ndarray, image: np.ndarray, liver_ref: np.ndarray, noise: float, cc: Any) -> tuple[float, float]:
    """Mean HU of ``sel`` below the liver reference, and that in standard errors of the mean
    (``noise`` / sqrt(voxels / ``noise_correlation_voxels``)); (0, 0) for fewer than 4 voxels."""
    n = int(sel.sum())
    if n < 4:
        return 0.0, 0.0
    below = float(np.mean(liver_ref[sel] - image[sel]))
    return below, below / (noise / np.sqrt(max(n / cc.noise_correlation_voxels, 1.0)))


def _dense_distance(image: np.ndarray, calc: np.ndarray, near_calc: np.ndarray, dense_hu: float, wsp: np.ndarray) -> np.ndarray:
    """Distance (mm, up to ``REFERENCE_GAP_MM``) to the calcium or any other dense voxel.

    A liver mask may overlap bone (a rib crossing the organ's outline) or hold a dense structure
    detection did not accept as a focus. Such voxels are hundreds of HU above the parenchyma:
    left in the liver reference, a 20 mm Gaussian spreads them over the lesion's neighbourhood
    and lifts the reference far above the liver, so that plain parenchyma reads as "clearly
    darker than the liver" and joins the lesion (two neighbouring cysts then become one).
    """
    dense = (image >= dense_hu) & ~calc
    if not dense.any():
        return near_calc
    return np.minimum(near_calc, distance_to(dense, wsp, REFERENCE_GAP_MM + 1.0))


def _tissue(
    image: np.ndarray,
    smooth: np.ndarray,
    broad: Callable[[], np.ndarray],
    liver_ref: np.ndarray,
    calc: np.ndarray,
    near_calc: np.ndarray,
    in_organ: np.ndarray,
    noise: float,
    wsp: np.ndarray,
    cfg: ImagingConfig,
) -> np.ndarray:
    """The soft-tissue or fluid regions of a neighbourhood that touch its calcium (working grid).

    A clear component (``hypo_delta_hu`` below the liver after a light smoothing) is looked for
    first. When there is none, a faint one: voxels ``region_min_delta_hu`` below the liver after
    the broad smoothing (``region_sigma_mm``, ``broad()``), within ``faint_reach_mm`` of the calcium, forming
    a region that surrounds the calcium (at least ``faint_surround`` of the liver-side shell of
    ``touch_mm`` around it: calcium *within* soft tissue, not beside a vessel). Either way a
    region is kept only when its mean lies at least ``region_min_delta_hu`` below the liver
    reference and that difference is at least ``region_t`` times the standard error of the
    region's mean (``noise`` / sqrt(voxels / ``noise_correlation_voxels``)): single voxels of a
    faint mass overlap the liver's, its mean over a centimetre does not.
    """
    cc = cfg.characterisation
    # a lesion at the surface bulges the liver; an outline that follows the parenchyma (the
    # built-in one does) leaves it out. The liver with its surface bays closed stands for the
    # organ where a lesion's tissue may lie: a region is judged inside it, so that fat or fluid
    # around the liver joined to it across the surface does not carry it away
    allowed = in_organ & (smooth > cc.fat_floor_hu) & ~calc
    near = near_calc <= cc.touch_mm
    clear = _regions(allowed & (smooth < liver_ref - cc.hypo_delta_hu), image, liver_ref, near, noise, wsp, cc)

    def faint() -> np.ndarray:
        cand = allowed & (broad() < liver_ref - cc.region_min_delta_hu) & (near_calc <= cc.faint_reach_mm)
        return _regions(cand, image, liver_ref, near, noise, wsp, cc)

    # as much tissue as a lesion needs (the test of _describe): less, and the clear search has
    # found fragments only (fluid near the clear limit, split by septa), so the region is
    # looked for as a faint one as well
    vox = float(np.prod(wsp))
    if clear.sum() * vox >= max(cc.min_tissue_volume_mm3, cc.min_tissue_to_calcium * calc.sum() * vox):
        # a clear part (fluid, necrosis, a scar) may lie within a fainter mass: the mass is
        # looked for only when the liver-side shell around the clear part is itself darker than
        # the liver by the region test (a cyst in the liver has liver around it)
        lo, hi = cc.surround_mm
        ring = distance_to(clear, wsp, hi)
        ring = (ring > max(lo, 1.01 * float(wsp.max()))) & (ring <= hi) & allowed & (near_calc > lo)
        below, t = _below(ring, image, liver_ref, noise, cc)
        if below < cc.region_min_delta_hu or t < cc.region_t:
            return clear
        mass = faint()
        if mass.sum() >= cc.faint_growth * clear.sum() and mass[clear].mean() >= 0.5:
            return mass | clear
        return clear
    mass = faint()
    shell = near & allowed
    if mass.any() and shell.any() and mass[shell].mean() >= cc.faint_surround:
        return mass | clear
    return clear


def _regions(cand: np.ndarray, image: np.ndarray, liver_ref: np.ndarray, near: np.ndarray, noise: float, wsp: np.ndarray, cc: Any) -> np.ndarray:
    """The components of ``cand`` that touch ``near`` and pass the region test."""
    if cc.tissue_opening_mm > 0:
        cand = ndi.binary_opening(cand, ball(cc.tissue_opening_mm, wsp))
    tlab, nt = ndi.label(cand)
    if nt == 0:
        return cand
    touching = np.unique(tlab[near & (tlab > 0)])
    touching = touching[touching > 0]
    if touching.size == 0:
        return np.zeros_like(cand)
    n = np.bincount(tlab.ravel(), minlength=nt + 1).astype(float)
    total = np.bincount(tlab.ravel(), weights=(liver_ref - image).ravel(), minlength=nt + 1)
    below = total / np.maximum(n, 1)
    se = noise / np.sqrt(np.maximum(n, 1) / cc.noise_correlation_voxels)
    ok = (below >= cc.region_min_delta_hu) & (below >= cc.region_t * se)
    keep = touching[ok[touching]]
    # septa cut a small cyst into compartments each too small to pass alone: those touching the
    # calcium are then tested together, as the one region they are
    rest = touching[~ok[touching]]
    if rest.size > 1:
        n_r = float(n[rest].sum())
        below_r = float(total[rest].sum()) / n_r
        if below_r >= cc.region_min_delta_hu and below_r >= cc.region_t * noise / np.sqrt(n_r / cc.noise_correlation_voxels):
            keep = np.concatenate([keep, rest])
    return np.isin(tlab, keep)


def _noise_sd(image: np.ndarray, sel: np.ndarray) -> float:
    """The voxel noise of the liver (HU): robust SD of each voxel about its 3-voxel mean.

    For white noise that difference has 0.98 of the noise's SD; the median absolute deviation
    ignores vessels and edges. Correlated noise and texture are left to the region test's
    correlation allowance.
    """
    if not sel.any():
        return 15.0
    r = (image - ndi.uniform_filter(image, 3))[sel]
    return float(max(1.4826 * np.median(np.abs(r - np.median(r))) / 0.98, 1.0))


def _smooth_without(image: np.ndarray, exclude: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Gaussian smoothing that leaves out the ``exclude`` voxels (normalised convolution).

    Calcium is hundreds of HU above everything around it: smoothed with the rest it would
    brighten the tissue it sits in (a scar, a small cystic space) above the liver's level, and
    that tissue would no longer be found. The excluded voxels themselves keep the plain smoothed
    value.
    """
    if not exclude.any():
        return ndi.gaussian_filter(image, sigma)
    keep = (~exclude).astype(np.float32)
    weight = ndi.gaussian_filter(keep, sigma)
    out = ndi.gaussian_filter(image * keep, sigma)
    ok = weight > 0.05
    out[ok] /= weight[ok]
    plain = ndi.gaussian_filter(image, sigma)
    out[~ok] = plain[~ok]
    out[exclude] = plain[exclude]
    return out


def _local_liver_reference(smooth: np.ndarray, sel: np.ndarray, sp: np.ndarray, sigma_mm: float) -> np.ndarray:
    """The liver's own attenuation around each voxel (normalised Gaussian on a ~4 mm grid).

    Real livers are not uniform (the portal-venous example is ~100 HU in front and ~70 HU at the
    back), so "darker than the liver" must be judged against the liver nearby.
    """
    if not sel.any():
        return np.full(smooth.shape, float(np.median(smooth)), np.float32)
    f = tuple(max(1, int(round(4.0 / s))) for s in sp)
    w = coarsen(sel.astype(np.float32), f, "mean", np.float32, pad="constant")
    v = coarsen(np.where(sel, smooth, 0).astype(np.float32), f, "mean", np.float32, pad="constant")
    sig = sigma_mm / (sp * np.array(f))
    ref = ndi.gaussian_filter(v, sig) / np.maximum(ndi.gaussian_filter(w, sig), 1e-3)
    ref[ndi.gaussian_filter(w, sig) < 1e-3] = float(np.median(smooth[sel]))
    return refine(ref, f, smooth.shape)


def _focus_size(labels: np.ndarray, label: int, focus: Any, sp: np.ndarray) -> float:
    sel = labels[focus.box] == label
    return diameter(sel, sp) if sel.any() else 0.0


#: The edge (mm) of a lesion's tissue left out when judging whether it is fluid.
KIND_EDGE_MM = 1.5

#: Tissue this close to calcium (mm; at least one voxel) is left out when judging whether it is
#: fluid: the calcium's partial volume and blur brighten it.
KIND_CALCIUM_GAP_MM = 3.0

#: A lesion's surface within this distance of calcium counts as covered by it (rim).
COVERAGE_MM = 2.5

#: Voxels this far (in voxels) from calcium are the background its dots are measured against.
DOT_BACKGROUND_GAP = 2


def _dots(
    calc: np.ndarray, flab: np.ndarray, sizes: list[float], volume: Volume, origin: np.ndarray, box: tuple[slice, ...], sp: np.ndarray, max_focus_mm: float
) -> tuple[list[float], int]:
    """Sizes of the dense dots in each focus, at half their maximum, and how many there are.

    ``sizes`` are the foci's thresholded diameters (one 0.0 when there are too many foci to
    measure, as in a diffuse finding). Foci longer than ``max_focus_mm`` are continuous
    calcifications (lines, rims, septa, chunks): each is one dot of its thresholded size, which
    spares the peak search over their large boxes.
    """
    nfoci = int(flab.max())
    if len(sizes) != nfoci:
        return [0.0], nfoci
    where = tuple(slice(int(o) + b.start, int(o) + b.stop) for o, b in zip(origin, box))
    hu = np.asarray(volume.array[where], np.float32)
    around = ~ndi.binary_dilation(calc, iterations=DOT_BACKGROUND_GAP)
    background = float(np.median(hu[around])) if around.any() else float(hu.min())
    out: list[float] = []
    for sl, k, size in zip(ndi.find_objects(flab), range(1, nfoci + 1), sizes):
        if size > max_focus_mm:
            out.append(size)
            continue
        sl = tuple(slice(max(0, s.start - 1), s.stop + 1) for s in sl)
        out += dots(hu[sl], flab[sl] == k, sp, background).diameters_mm
    return out, len(out)


def _count_word(n: int, cc: Any) -> str:
    if n <= 1:
        return "solitary"
    if n <= cc.count_few_max:
        return "few"
    if n <= cc.count_multiple_max:
        return "multiple"
    return "innumerable"


def _describe(
    index: int,
    labs: list[int],
    gmask: np.ndarray,
    gtissue: np.ndarray,
    smooth: np.ndarray | None,
    outline: np.ndarray | None,
    sp: np.ndarray,
    origin: np.ndarray,
    volume: Volume,
    depth_at: Callable[[np.ndarray], np.ndarray],
    max_depth: float,
    diffuse: bool,
    foci_by_label: dict,
    cfg: ImagingConfig,
    surround: tuple[float, float] = (0.0, 0.0),
) -> Lesion:
    cc = cfg.characterisation
    box = bbox(gmask | gtissue, pad=3)
    calc = gmask[box]
    tis = gtissue[box]
    vox = volume.voxel_volume_mm3
    calc_vol = float(calc.sum() * vox)
    tis_vol = float(tis.sum() * vox)
    kind = "none"
    if smooth is not None and not diffuse and tis_vol >= cc.min_tissue_volume_mm3 and tis_vol >= cc.min_tissue_to_calcium * calc_vol:
        # judged in the tissue's core: its edge, a blend with the liver or the calcium around it,
        # is left out while enough remains
        # (at least one voxel along every axis: the fringe of a thick slice is a whole slice)
        core = ndi.binary_erosion(tis, ball(KIND_EDGE_MM, sp)) & ndi.binary_erosion(tis)
        core = core if core.sum() >= 0.2 * tis.sum() else tis
        # ... and so is the tissue next to the calcium, which its partial volume brightens (thin
        # septa cut a small cyst into compartments whose fluid then reads as soft tissue)
        gap = max(KIND_CALCIUM_GAP_MM, 1.01 * float(sp.max()))
        away = core & (distance_to(calc, sp, gap) > gap)
        core = away if away.sum() >= 0.2 * core.sum() else core
        fluid = float(np.mean(smooth[box][core] <= cc.fluid_max_hu))
        lo, hi = cc.mixed_fluid_fraction
        kind = "cystic" if fluid >= hi else "solid" if fluid <= lo else "mixed"
    else:
        tis = np.zeros_like(tis)
    lesion_mask = outline[box] | calc if kind != "none" and outline is not None else calc
    # shape of the calcium
    flab, nfoci = ndi.label(calc, structure=np.ones((3, 3, 3), bool))
    props = regionprops(flab, spacing=tuple(sp))
    largest = max(props, key=lambda p: p.area)
    big = flab == largest.label
    big_diameter = diameter(big[largest.slice], sp)
    sizes = [big_diameter if p is largest else diameter(flab == p.label, sp) for p in props] if nfoci <= 60 else [0.0]
    solid = solidity(big[largest.slice])
    thickness = 2.0 * float(ndi.distance_transform_edt(np.pad(big, 1), sampling=sp).max())
    # branches are millimetre-sized: counted on the working grid, at the same cost for 0.7 mm
    # and 1.5 mm voxels (block maximum: a thin strand stays connected)
    wf = tuple(max(1, int(cc.working_grid_mm / s + 1e-9)) for s in sp)
    branches = branching(coarsen(big[largest.slice], wf, "max", bool), sp * np.array(wf), cc.branch_min_mm) if not diffuse else None
    dot_sizes, n_dots = _dots(calc, flab, sizes, volume, origin, box, sp, cc.dots_max_focus_mm)
    pts = np.argwhere(calc) * sp
    elong, axis, centre = _axes(pts)
    voxel_mm = float(np.prod(sp)) ** (1 / 3)
    lesion_diameter = float(diameter(lesion_mask, sp)) if kind != "none" else 0.0
    features: dict[str, Any] = {
        "lesion": kind,
        "n_foci": int(nfoci),
        "max_focus_mm": round(max(sizes), 2),
        "max_dot_mm": round(max(dot_sizes), 2),
        "n_dots": int(n_dots),
        "thickness_mm": round(thickness, 2),
        # a thin calcification blooms to about two voxels across at the detection threshold
        "thin": int(thickness <= max(cc.thin_max_mm, cc.thin_max_voxels * voxel_mm)),
        "voxel_mm": round(voxel_mm, 2),
        "slice_mm": round(float(sp.max()), 2),
        "small_dot": int(max(dot_sizes) <= max(cc.dot_max_mm, cc.dot_max_voxels * voxel_mm)),
        "extent": round(max(sizes) / lesion_diameter, 3) if lesion_diameter > 0 else 0.0,
        "length_mm": round(diameter(calc, sp), 2) if nfoci <= 60 else 0.0,
        "elongation": round(elong, 2),
        "solidity": round(solid, 3),
        "roundness": round(min(1.0, thickness / max(big_diameter, 1e-6)), 3),
        "ends": branches.ends if branches else 0,
        "side_branch_mm": branches.side_branch_mm if branches else 0.0,
        "hollow": _hollow(pts, axis, centre),
        "depth": 0.0,
        "centrality": 0.0,
        "coverage": 0.0,
        "diffuse": int(diffuse),
        "surround_below_hu": surround[0],
        "surround_t": surround[1],
        "tissue_hu": round(float(np.mean(smooth[box][tis])), 1) if kind != "none" and smooth is not None else 0.0,
    }
    if kind != "none":
        depth = ndi.distance_transform_edt(np.pad(lesion_mask, 1), sampling=sp)[1:-1, 1:-1, 1:-1]
        features["depth"] = round(float(np.median(depth[calc]) / max(depth.max(), 1e-6)), 3)
        lpts = np.argwhere(lesion_mask) * sp
        radius = (3 * lesion_mask.sum() * volume.voxel_volume_mm3 / (4 * np.pi)) ** (1 / 3)
        offset = float(np.linalg.norm(pts.mean(0) - lpts.mean(0)))
        features["centrality"] = round(max(0.0, 1.0 - offset / max(radius, 1e-6)), 3)
        surface = lesion_mask & ~ndi.binary_erosion(lesion_mask)
        # within 2.5 mm of calcium, or one voxel where voxels are coarser than that
        reach = max(COVERAGE_MM, 1.01 * float(sp.max()))
        near = distance_to(calc, sp, reach) <= reach
        features["coverage"] = round(float(near[surface].mean()) if surface.any() else 0.0, 3)
    pattern, why = name_pattern(features, cfg)
    candidates = pattern_candidates(features, cfg)
    features["pattern_uncertain"] = bool(candidates)
    features["pattern_candidates"] = candidates
    # where it is
    offset = origin + np.array([b.start for b in box])
    idx = np.argwhere(lesion_mask) + offset
    cen_vox = np.argwhere(calc).mean(0) + offset if kind == "none" else idx.mean(0)
    d = depth_at(idx)
    cen_depth = float(depth_at(np.round(cen_vox)[None])[0])
    if d.min() <= cc.subcapsular_mm:
        location = "subcapsular"
    elif cen_depth >= cc.central_depth_fraction * max_depth:
        location = "central"
    else:
        location = "peripheral"
    if diffuse:
        location = "peripheral"
    max_hu = float(max(foci_by_label[l].max_hu for l in labs))
    mim = cfg.mimics
    metallic = max_hu >= mim.metal_hu
    mimics: list[str] = []
    if metallic:
        mimics.append(f"metal: peak {max_hu:.0f} HU, far above bone (surgical material, clip or coil); {mim.metal_basis}")
    elif max_hu >= mim.lipiodol_hu:
        mimics.append(
            f"density in the lipiodol range (>= {mim.lipiodol_hu:.0f} HU; dense retention >= {mim.dense_lipiodol_hu:.0f} HU "
            f"[{', '.join(mim.lipiodol_refs)}]): after TACE this may be retained lipiodol rather than calcium"
        )
    size = lesion_diameter if kind != "none" else features["length_mm"] or features["max_focus_mm"]
    if diffuse:
        size = features["max_focus_mm"]
    # an uncertain pattern is left out of the finding: the assessment then treats it as unknown
    # rather than following a confident wrong name
    finding = {
        "modality": ["ct"],
        **({} if candidates else {"calcification": [pattern]}),
        "size_mm": round(min(max(size, 0.0), 400.0), 1),
        "lesion": kind,
        "location": location,
        "max_hu": round(min(max(max_hu, -1000.0), 4000.0), 0),
        "metallic_artifact": bool(metallic),
    }
    return Lesion(
        index=index,
        foci=list(labs),
        calcium=calc,
        tissue=tis,
        box=tuple(slice(s.start + o, s.stop + o) for s, o in zip(box, origin)),  # type: ignore[arg-type]
        centroid_voxel=tuple(round(float(v), 2) for v in cen_vox),  # type: ignore[arg-type]
        centroid_mm=tuple(round(float(v), 2) for v in volume.index_to_lps(cen_vox)),  # type: ignore[arg-type]
        calcium_volume_mm3=round(calc_vol, 1),
        features=features,
        pattern=pattern,
        why=why,
        finding=finding,
        mimics=mimics,
        candidates=candidates,
    )
