"""Group calcifications into lesions and describe each in the case format's vocabulary.

A lesion is one or more calcified foci together with the soft-tissue or fluid component they
surround or sit in (liver-margin tissue clearly below the liver's attenuation, touching or
enclosed by the calcium). Shape measures come from scikit-image and scipy (regionprops,
distance transforms, skeletonize); the pattern is named by the ordered rules of
``thresholds.yaml`` (``patterns``), so the mapping from measurements to words is data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from scipy.spatial import ConvexHull, QhullError
from skimage.measure import block_reduce, regionprops
from skimage.morphology import skeletonize

from hepcal.imaging.config import ImagingConfig, imaging_config
from hepcal.imaging.detection import Detection
from hepcal.imaging.volume import Volume

__all__ = ["Lesion", "characterise", "name_pattern"]


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


def name_pattern(features: dict[str, Any], config: ImagingConfig | None = None) -> tuple[str, str]:
    """The first rule of ``thresholds.yaml`` whose conditions hold: (pattern, why)."""
    for rule in (config or imaging_config()).patterns.rules:
        if all(c.holds(features) for c in rule.when):
            return rule.pattern, rule.why
    return "coarse", "no rule matched"


def _feret(points_mm: np.ndarray) -> float:
    """Largest distance between two points (convex hull vertices; all points when few)."""
    if len(points_mm) < 2:
        return 0.0
    pts = points_mm
    if len(pts) > 8:
        try:
            pts = pts[ConvexHull(pts).vertices]
        except QhullError:  # flat set
            pass
    if len(pts) > 3000:
        pts = pts[:: len(pts) // 3000 + 1]
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    return float(d.max())


def _diameter(mask: np.ndarray, spacing: np.ndarray) -> float:
    """Largest diameter in mm: between voxel centres, plus one voxel (a single voxel measures its size)."""
    pts = np.argwhere(mask) * spacing
    return _feret(pts) + float(np.mean(spacing))


def _endpoints(mask: np.ndarray) -> int:
    if mask.sum() < 3:
        return 0
    skel = skeletonize(mask).astype(bool)
    nb = ndi.convolve(skel.astype(np.uint8), np.ones((3, 3, 3), np.uint8), mode="constant") - 1
    return int(np.sum(skel & (nb == 1)))


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
    """
    cfg = config or imaging_config()
    cc = cfg.characterisation
    if not detection.foci:
        return []
    sp = volume.spacing
    crop = detection.crop
    calc_all = detection.labels > 0
    # work only around the calcifications: their box grown by the largest lesion we describe
    ctx = [int(np.ceil(40.0 / s)) for s in sp]
    nz = [np.flatnonzero(calc_all.any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
    sub = tuple(slice(max(0, n[0] - c), min(calc_all.shape[ax], n[-1] + c + 1)) for ax, (n, c) in enumerate(zip(nz, ctx)))
    labels = detection.labels[sub]
    calc = labels > 0
    image = volume.array[crop][sub]
    liv = liver[crop][sub]
    origin = np.array([c.start + s.start for c, s in zip(crop, sub)])
    smooth = ndi.gaussian_filter(image.astype(np.float32), cc.smoothing_sigma_mm / sp) if cc.smoothing_sigma_mm > 0 else image.astype(np.float32)
    near_calc = ndi.distance_transform_edt(~calc, sampling=sp)
    # the reference is the liver *around* a lesion: voxels clearly darker than the liver's own
    # level are the lesion's tissue and must not pull the reference down (a 40 mm mass inside a
    # 20 mm Gaussian otherwise lowers the reference to within a few HU of itself)
    ref_sel = liv & (near_calc > 10)
    if ref_sel.any():
        ref_sel &= smooth >= float(np.median(smooth[ref_sel])) - cc.hypo_delta_hu
    liver_ref = _local_liver_reference(smooth, ref_sel, sp, cc.reference_sigma_mm)
    del ref_sel
    margin = ndi.distance_transform_edt(~liv, sampling=sp) <= cfg.detection.liver_margin_mm
    tissue = margin & (smooth < liver_ref - cc.hypo_delta_hu) & (smooth > cc.fat_floor_hu)
    del liver_ref
    if cc.tissue_opening_mm > 0:
        tissue = ndi.binary_opening(tissue, _ball(cc.tissue_opening_mm, sp))
    tissue &= ~calc
    tlab, nt = ndi.label(tissue)
    # a lesion's tissue is mostly inside the liver; tissue outside it is fat, bowel or fluid around
    inside = np.bincount(tlab[liv], minlength=nt + 1) / np.maximum(np.bincount(tlab.ravel(), minlength=nt + 1), 1)
    touching = np.unique(tlab[(near_calc <= cc.touch_mm) & (tlab > 0)])
    touching = touching[inside[touching] >= 0.5]
    tissue = np.isin(tlab, touching)
    # groups: calcium within group_distance of each other, or sharing a tissue component
    joined = (near_calc <= cc.group_distance_mm / 2) | ndi.binary_dilation(tissue)
    glab, ngroups = ndi.label(joined)
    del joined
    groups: dict[int, list[int]] = {}
    for f in detection.foci:
        sel = labels == f.label
        if not sel.any():
            continue
        g = int(np.bincount(glab[sel]).argmax())
        groups.setdefault(g, []).append(f.label)
    # liver depth on a coarse grid (cheap), for location
    factors = tuple(max(1, int(round(3.0 / s))) for s in sp)
    liv_coarse = block_reduce(liver, factors, np.max) if any(f > 1 for f in factors) else liver
    depth_coarse = ndi.distance_transform_edt(liv_coarse, sampling=sp * np.array(factors))
    max_depth = float(depth_coarse.max()) or 1.0

    def depth_at(idx_vol: np.ndarray) -> np.ndarray:
        q = np.clip((idx_vol // np.array(factors)).astype(int), 0, np.array(depth_coarse.shape) - 1)
        return depth_coarse[q[:, 0], q[:, 1], q[:, 2]]

    foci_by_label = {f.label: f for f in detection.foci}
    # diffuse: many small tissue-less groups scattered through the liver become one finding
    bare = []
    for g, labs in groups.items():
        if not np.any(tissue[glab == g]) and max(_focus_size(labels, l, sp) for l in labs) <= cc.diffuse_max_focus_mm:
            bare.append(g)
    diffuse_groups = set(bare) if len(bare) >= cc.diffuse_min_foci else set()
    items: list[tuple[list[int], bool]] = []
    if diffuse_groups:
        items.append(([l for g in diffuse_groups for l in groups[g]], True))
    items += [(labs, False) for g, labs in groups.items() if g not in diffuse_groups]

    lesions: list[Lesion] = []
    for n, (labs, diffuse) in enumerate(items, start=1):
        gmask = np.isin(labels, labs)
        gtissue = tissue & (np.isin(glab, [int(np.bincount(glab[labels == l]).argmax()) for l in labs]) if not diffuse else False)
        lesions.append(_describe(n, labs, gmask, gtissue, image, smooth, sp, origin, volume, depth_at, max_depth, diffuse, foci_by_label, cfg))
        if progress is not None:
            progress(n, len(items))
    # count: the number of calcified lesions, or of foci for clusters of bare foci
    for les in lesions:
        if les.pattern in ("punctate", "diffuse"):
            les.finding["count"] = _count_word(les.features["n_foci"], cc)
        else:
            les.finding["count"] = _count_word(len(lesions), cc)
    return lesions


def _local_liver_reference(smooth: np.ndarray, sel: np.ndarray, sp: np.ndarray, sigma_mm: float) -> np.ndarray:
    """The liver's own attenuation around each voxel (normalised Gaussian on a ~4 mm grid).

    Real livers are not uniform (the portal-venous example is ~100 HU in front and ~70 HU at the
    back), so "darker than the liver" must be judged against the liver nearby.
    """
    if not sel.any():
        return np.full(smooth.shape, float(np.median(smooth)), np.float32)
    f = tuple(max(1, int(round(4.0 / s))) for s in sp)
    pad = [(0, (-n) % k) for n, k in zip(smooth.shape, f)]
    w = block_reduce(np.pad(sel.astype(np.float32), pad), f, np.mean)
    v = block_reduce(np.pad(np.where(sel, smooth, 0).astype(np.float32), pad), f, np.mean)
    sig = sigma_mm / (sp * np.array(f))
    ref = ndi.gaussian_filter(v, sig) / np.maximum(ndi.gaussian_filter(w, sig), 1e-3)
    ref[ndi.gaussian_filter(w, sig) < 1e-3] = float(np.median(smooth[sel]))
    for ax, k in enumerate(f):
        ref = np.repeat(ref, k, axis=ax)
    return ref[: smooth.shape[0], : smooth.shape[1], : smooth.shape[2]]


def _ball(radius_mm: float, spacing: np.ndarray) -> np.ndarray:
    half = [int(np.floor(radius_mm / s)) for s in spacing]
    grid = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    return np.asarray(sum((g * s / radius_mm) ** 2 for g, s in zip(grid, spacing)) <= 1.0)


def _focus_size(labels: np.ndarray, label: int, sp: np.ndarray) -> float:
    sel = labels == label
    return _diameter(sel, sp) if sel.any() else 0.0


def _count_word(n: int, cc: Any) -> str:
    if n <= 1:
        return "solitary"
    if n <= cc.count_few_max:
        return "few"
    if n <= cc.count_multiple_max:
        return "multiple"
    return "innumerable"


def _bbox(mask: np.ndarray, pad: int = 2) -> tuple[slice, slice, slice]:
    out = []
    for ax in range(3):
        idx = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != ax)))
        out.append(slice(max(0, idx[0] - pad), min(mask.shape[ax], idx[-1] + pad + 1)))
    return tuple(out)  # type: ignore[return-value]


def _describe(
    index: int,
    labs: list[int],
    gmask: np.ndarray,
    gtissue: np.ndarray | bool,
    image: np.ndarray,
    smooth: np.ndarray,
    sp: np.ndarray,
    origin: np.ndarray,
    volume: Volume,
    depth_at: Callable[[np.ndarray], np.ndarray],
    max_depth: float,
    diffuse: bool,
    foci_by_label: dict,
    cfg: ImagingConfig,
) -> Lesion:
    cc = cfg.characterisation
    tissue_full = gtissue if isinstance(gtissue, np.ndarray) else np.zeros_like(gmask)
    box = _bbox(gmask | tissue_full, pad=3)
    calc = gmask[box]
    tis = tissue_full[box]
    sm = smooth[box]
    vox = volume.voxel_volume_mm3
    calc_vol = float(calc.sum() * vox)
    tis_vol = float(tis.sum() * vox)
    kind = "none"
    if not diffuse and tis_vol >= cc.min_tissue_volume_mm3 and tis_vol >= cc.min_tissue_to_calcium * calc_vol:
        fluid = float(np.mean(sm[tis] <= cc.fluid_max_hu))
        lo, hi = cc.mixed_fluid_fraction
        kind = "cystic" if fluid >= hi else "solid" if fluid <= lo else "mixed"
    else:
        tis = np.zeros_like(tis)
    # the bright halo of the calcium separates it from the tissue: close the gap before filling
    lesion_mask = ndi.binary_fill_holes(ndi.binary_closing(np.pad(calc | tis, 3), _ball(3.0, sp))[3:-3, 3:-3, 3:-3]) | calc if kind != "none" else calc
    # shape of the calcium
    flab, nfoci = ndi.label(calc, structure=np.ones((3, 3, 3), bool))
    props = regionprops(flab, spacing=tuple(sp))
    sizes = [_diameter(flab == p.label, sp) for p in props] if nfoci <= 60 else [0.0]
    largest = max(props, key=lambda p: p.area)
    big = flab == largest.label
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flat foci have no 3-D hull: qhull warns, solidity is inf/nan
        try:
            solidity = float(largest.solidity)
        except Exception:
            solidity = 1.0
    if not np.isfinite(solidity) or solidity > 1.0:
        solidity = 1.0
    thickness = 2.0 * float(ndi.distance_transform_edt(np.pad(big, 1), sampling=sp).max())
    pts = np.argwhere(calc) * sp
    elong, axis, centre = _axes(pts)
    features: dict[str, Any] = {
        "lesion": kind,
        "n_foci": int(nfoci),
        "max_focus_mm": round(max(sizes), 2),
        "thickness_mm": round(thickness, 2),
        "length_mm": round(_diameter(calc, sp), 2) if nfoci <= 60 else 0.0,
        "elongation": round(elong, 2),
        "solidity": round(solidity, 3),
        "endpoints": _endpoints(calc) if not diffuse else 0,
        "hollow": _hollow(pts, axis, centre),
        "depth": 0.0,
        "centrality": 0.0,
        "coverage": 0.0,
        "diffuse": int(diffuse),
    }
    if kind != "none":
        depth = ndi.distance_transform_edt(np.pad(lesion_mask, 1), sampling=sp)[1:-1, 1:-1, 1:-1]
        features["depth"] = round(float(np.median(depth[calc]) / max(depth.max(), 1e-6)), 3)
        lpts = np.argwhere(lesion_mask) * sp
        radius = (3 * lesion_mask.sum() * volume.voxel_volume_mm3 / (4 * np.pi)) ** (1 / 3)
        offset = float(np.linalg.norm(pts.mean(0) - lpts.mean(0)))
        features["centrality"] = round(max(0.0, 1.0 - offset / max(radius, 1e-6)), 3)
        surface = lesion_mask & ~ndi.binary_erosion(lesion_mask)
        near = ndi.distance_transform_edt(~calc, sampling=sp) <= 2.5
        features["coverage"] = round(float(near[surface].mean()) if surface.any() else 0.0, 3)
    pattern, why = name_pattern(features, cfg)
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
    size = float(_diameter(lesion_mask, sp)) if kind != "none" else features["length_mm"] or features["max_focus_mm"]
    if diffuse:
        size = features["max_focus_mm"]
    finding = {
        "modality": ["ct"],
        "calcification": [pattern],
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
    )
