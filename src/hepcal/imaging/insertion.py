"""Write synthetic calcified lesions into a real study, to test detection on real anatomy and noise.

Neither example study has a hepatic calcification; inserting known lesions into their livers is
how the detector and the pattern rules are checked on real CT. The lesion's soft-tissue part is
given the liver's own attenuation offset (the phantom's values are relative to the liver) and
noise matched to the liver's measured noise. A caller may set each lesion's soft-tissue
attenuation relative to the liver around it (the real-background benchmark draws it), blur the
lesion with the scanner's resolution, and thicken the slices afterwards (:func:`thicken`) for the
partial volume of a thick-slice study.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.phantom import DEFAULT_SIZE_MM, LESION_KIND, TISSUE_HU, LesionSpec, TruthLesion, _diffuse_centres, _footprint_mm, _place, lesion_layers
from hepcal.imaging.shapes import Layer, paint
from hepcal.imaging.volume import Volume

__all__ = ["insert_lesions", "liver_noise_sd", "thicken"]


def liver_noise_sd(volume: Volume, liver: np.ndarray) -> float:
    """Robust noise of the liver: MAD of the difference to a 3-voxel median."""
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(liver))
    img = volume.array[box].astype(np.float32)
    resid = img - ndi.median_filter(img, size=3)
    sel = ndi.binary_erosion(liver[box], iterations=2)
    r = resid[sel] if sel.any() else resid.ravel()
    return float(1.4826 * np.median(np.abs(r - np.median(r))) * 1.2)


def insert_lesions(
    volume: Volume,
    liver: np.ndarray,
    lesions: Sequence[LesionSpec],
    *,
    phase: str,
    seed: int = 0,
    tissue_delta_hu: Sequence[float | None] | None = None,
    blur_mm: float = 0.0,
) -> tuple[Volume, np.ndarray, list[TruthLesion]]:
    """A copy of ``volume`` with ``lesions`` painted into its liver.

    ``tissue_delta_hu[k]`` (when given and not None) sets lesion k's main soft-tissue or fluid
    component to that many HU above the liver around it (negative: hypodense); its other
    soft-tissue layers (a scar) keep their offset from it. ``blur_mm`` (Gaussian sigma) blurs
    what was painted, as the scanner's point spread would, before the noise is added.
    Returns the new volume, the calcium truth labels (k = lesion k) and the truth list.
    """
    if not liver.any():
        raise InputError("cannot insert lesions: the liver mask is empty")
    rng = np.random.default_rng(seed)
    arr = volume.array.astype(np.float32)
    sp = volume.spacing
    # lesions are placed whole inside the liver: the edge of the field of view counts as its edge
    dist = ndi.distance_transform_edt(np.pad(liver, 1), sampling=sp)[1:-1, 1:-1, 1:-1]
    study_liver_hu = float(np.median(volume.array[liver]))
    noise = liver_noise_sd(volume, liver)
    # tissue values relative to this liver: the phantom's offsets from its liver value
    ref = TISSUE_HU["liver"][phase]
    calcium = np.zeros(volume.shape, np.int16)
    truth: list[TruthLesion] = []
    placed: list[tuple[np.ndarray, float]] = []
    deltas = list(tissue_delta_hu) if tissue_delta_hu is not None else [None] * len(lesions)
    if len(deltas) != len(lesions):
        raise InputError(f"tissue_delta_hu has {len(deltas)} values for {len(lesions)} lesions")
    painted = arr.copy() if blur_mm > 0 else arr
    for n, (spec, delta) in enumerate(zip(lesions, deltas), start=1):
        size = float(spec.size_mm or DEFAULT_SIZE_MM[spec.pattern])
        if spec.pattern == "diffuse":  # many small foci scattered through the liver
            centres = _diffuse_centres(dist, volume.affine, rng, count=24)
        elif spec.center_mm is not None:
            centres = [np.asarray(spec.center_mm, float)]
        else:
            centres = [_place(dist, volume.affine, _footprint_mm(spec.pattern, size), placed, rng)]
        mask = np.zeros(volume.shape, bool)
        for centre in centres:
            placed.append((centre, _footprint_mm(spec.pattern, size)))
            liver_hu = _local_liver_hu(volume, liver, centre, size) if len(centres) == 1 else study_liver_hu
            layers = lesion_layers(spec, centre, phase, rng, liver_hu=liver_hu)
            paint(painted, volume.affine, _relative_to_liver(layers, spec.pattern, ref, liver_hu, delta), calcium_out=mask, noise_sd=0.0 if blur_mm > 0 else noise, rng=rng)
        calcium[mask] = n
        cm = np.mean(centres, axis=0)
        truth.append(TruthLesion(spec.pattern, LESION_KIND[spec.pattern], tuple(float(v) for v in cm), size, n))
    if blur_mm > 0:  # the lesion (what painting changed) blurred, then given the study's noise
        change = ndi.gaussian_filter(painted - arr, blur_mm / sp)
        touched = np.abs(change) > 0.5
        arr = arr + change
        arr[touched] += rng.normal(0.0, noise, int(touched.sum())).astype(np.float32) * _untouched_fraction(change[touched])
    out = np.round(arr).astype(volume.array.dtype) if np.issubdtype(volume.array.dtype, np.integer) else arr
    meta = {**volume.metadata, "inserted_lesions": [t.pattern for t in truth]}
    return Volume(out, volume.affine, meta), calcium, truth


def _untouched_fraction(change: np.ndarray) -> np.ndarray:
    """Noise to add where a lesion replaced the study's own (noisy) voxels: 1 where it fully did.

    A replaced voxel lost the study's noise; a voxel a lesion only brushed kept most of it. The
    painted fraction is not known after blurring, so the size of the change stands for it, capped
    at 1 from 40 HU (the least contrast the benchmark draws is 10 HU, and a brushed edge keeps
    the study's noise anyway).
    """
    return np.clip(np.abs(change) / 40.0, 0.0, 1.0).astype(np.float32)


def _local_liver_hu(volume: Volume, liver: np.ndarray, centre: np.ndarray, size: float) -> float:
    """Median HU of the liver within about a lesion's diameter plus 20 mm of its centre.

    Real livers are not uniform (the portal-venous example is ~100 HU in front and ~70 HU at
    the back): a lesion's contrast is judged against the liver around it.
    """
    reach = size / 2 + 20.0
    idx = np.linalg.solve(volume.affine[:3, :3], centre - volume.affine[:3, 3])
    half = np.ceil(reach / volume.spacing).astype(int)
    box = tuple(slice(max(0, int(round(i)) - h), max(0, int(round(i)) + h + 1)) for i, h in zip(idx, half))
    sel = liver[box]
    return float(np.median(volume.array[box][sel])) if sel.sum() >= 50 else float(np.median(volume.array[liver]))


def _relative_to_liver(layers: list[Layer], pattern: str, ref: float, liver_hu: float, delta: float | None) -> list[Layer]:
    """The phantom's soft-tissue values moved from its liver to this one (calcium unchanged).

    With ``delta``, the lesion's first soft-tissue layer lies ``delta`` HU from the liver and
    the others keep their offsets from it; a vessel (the lumen of a vascular calcification) is
    not a mass and keeps its phantom offset.
    """
    soft = [l for l in layers if not l.calcium]
    shift = liver_hu - ref
    if delta is not None and soft and pattern != "vascular":
        shift = liver_hu + delta - soft[0].hu
    return [l if l.calcium else Layer(l.sdf, l.hu + shift, False, l.extent_mm, l.center) for l in layers]


def thicken(volume: Volume, calcium: np.ndarray, slice_mm: float, liver: np.ndarray | None = None) -> tuple[Volume, np.ndarray, np.ndarray | None]:
    """The study as thick slices of ``slice_mm`` (slab average along the plane axis), its truth
    labels and its liver mask.

    Each new slice is the overlap-weighted mean of the thin slices its slab covers, as a
    reconstruction at a larger slice thickness averages them (partial volume). A truth label is
    kept where it fills at least a quarter of the slab (the detector need not find less); the
    liver where it fills at least half.
    """
    sp = volume.spacing
    n_old = volume.shape[0]
    n_new = max(1, int(np.floor(n_old * sp[0] / slice_mm)))
    edges_old = np.arange(n_old + 1) * sp[0]
    w = np.zeros((n_new, n_old), np.float32)
    for k in range(n_new):
        lo, hi = k * slice_mm, (k + 1) * slice_mm
        w[k] = np.clip(np.minimum(edges_old[1:], hi) - np.maximum(edges_old[:-1], lo), 0.0, None) / slice_mm

    def slab(a: np.ndarray) -> np.ndarray:
        return np.tensordot(w, a.astype(np.float32), axes=(1, 0))

    arr = slab(volume.array)
    labels = np.zeros((n_new, *calcium.shape[1:]), calcium.dtype)
    best = np.zeros(labels.shape, np.float32)
    for lab in np.unique(calcium[calcium > 0]):
        frac = slab(calcium == lab)
        take = (frac >= 0.25) & (frac > best)
        labels[take] = lab
        best[take] = frac[take]
    affine = volume.affine.copy()
    affine[:3, 0] = affine[:3, 0] / sp[0] * slice_mm
    # the new slice k is centred on the middle of its slab
    affine[:3, 3] = volume.affine[:3, 3] + volume.affine[:3, 0] / sp[0] * (slice_mm / 2 - sp[0] / 2)
    out = np.round(arr).astype(volume.array.dtype) if np.issubdtype(volume.array.dtype, np.integer) else arr
    thick_liver = slab(liver) >= 0.5 if liver is not None else None
    return Volume(out, affine, {**volume.metadata, "slice_thickness_mm": slice_mm}), labels, thick_liver
