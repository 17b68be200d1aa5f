"""Write synthetic calcified lesions into a real study, to test detection on real anatomy and noise.

Neither example study has a hepatic calcification; inserting known lesions into their livers is
how the detector and the pattern rules are checked on real CT. The lesion's soft-tissue part is
given the liver's own attenuation offset (the phantom's values are relative to the liver) and
noise matched to the liver's measured noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.phantom import DEFAULT_SIZE_MM, LESION_KIND, TISSUE_HU, LesionSpec, TruthLesion, lesion_layers, _place
from hepcal.imaging.shapes import paint
from hepcal.imaging.volume import Volume

__all__ = ["insert_lesions", "liver_noise_sd"]


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
) -> tuple[Volume, np.ndarray, list[TruthLesion]]:
    """A copy of ``volume`` with ``lesions`` painted into its liver.

    Returns the new volume, the calcium truth labels (k = lesion k) and the truth list.
    """
    if not liver.any():
        raise InputError("cannot insert lesions: the liver mask is empty")
    rng = np.random.default_rng(seed)
    arr = volume.array.astype(np.float32)
    sp = volume.spacing
    dist = ndi.distance_transform_edt(liver, sampling=sp)
    liver_hu = float(np.median(volume.array[liver]))
    noise = liver_noise_sd(volume, liver)
    # tissue values relative to this liver: the phantom's offsets from its liver value
    ref = TISSUE_HU["liver"][phase]
    calcium = np.zeros(volume.shape, np.int16)
    truth: list[TruthLesion] = []
    placed: list[tuple[np.ndarray, float]] = []
    for n, spec in enumerate(lesions, start=1):
        if spec.pattern == "diffuse":
            raise InputError("the diffuse pattern is a whole-liver pattern; use the phantom for it")
        size = float(spec.size_mm or DEFAULT_SIZE_MM[spec.pattern])
        centre = np.asarray(spec.center_mm, float) if spec.center_mm is not None else _place(dist, volume.affine, size, placed, rng)
        placed.append((centre, size))
        layers = lesion_layers(spec, centre, phase, rng, liver_hu=liver_hu)
        shifted = [l if l.calcium else type(l)(l.sdf, l.hu - ref + liver_hu if l.hu < 300 else l.hu, l.calcium, l.extent_mm, l.center) for l in layers]
        mask = np.zeros(volume.shape, bool)
        paint(arr, volume.affine, shifted, calcium_out=mask, noise_sd=noise, rng=rng)
        calcium[mask] = n
        truth.append(TruthLesion(spec.pattern, LESION_KIND[spec.pattern], tuple(float(v) for v in centre), size, n))
    out = np.round(arr).astype(volume.array.dtype) if np.issubdtype(volume.array.dtype, np.integer) else arr
    meta = {**volume.metadata, "inserted_lesions": [t.pattern for t in truth]}
    return Volume(out, volume.affine, meta), calcium, truth
