"""Grid and morphology helpers shared by the liver, detection and characterisation steps.

Every size is in millimetres on an anisotropic grid, so a step means the same thing on a
0.7 mm and on a 3 mm study.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.ndimage as ndi

__all__ = ["ball", "closing", "coarsen", "refine"]


def ball(radius_mm: float, spacing: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """An ellipsoidal footprint of ``radius_mm`` in millimetres on an anisotropic grid."""
    sp = np.asarray(spacing, dtype=float)
    half = [int(np.floor(radius_mm / s)) for s in sp]
    grid = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    dist = sum((g * s / max(radius_mm, 1e-9)) ** 2 for g, s in zip(grid, sp))
    return np.asarray(dist <= 1.0)


def closing(mask: np.ndarray, radius_mm: float, sp: np.ndarray) -> np.ndarray:
    """Morphological closing by a ball of ``radius_mm``, from two distance transforms.

    The same result as a closing with the ball as structuring element (dilation: within the
    radius of the mask; erosion: farther than the radius from outside), at a cost that does not
    grow with the ball on fine grids.
    """
    pad = [int(np.ceil(radius_mm / s)) + 1 for s in sp]
    m = np.pad(mask, [(p, p) for p in pad])
    grown = ndi.distance_transform_edt(~m, sampling=sp) <= radius_mm
    closed = ndi.distance_transform_edt(grown, sampling=sp) > radius_mm
    return closed[tuple(slice(p, n - p) for p, n in zip(pad, closed.shape))]


def coarsen(a: np.ndarray, f: tuple[int, ...], how: str, dtype: Any) -> np.ndarray:
    """Blocks of ``f`` voxels reduced to their ``mean`` or ``max`` (edges padded by repetition).

    Summed over the few strided views of the block offsets: for the 2 × 2 or 3 × 3 blocks used
    here that is several times faster than reshaping into blocks.
    """
    if all(k == 1 for k in f):
        return a.astype(dtype, copy=False)
    pad = [(0, (-n) % k) for n, k in zip(a.shape, f)]
    a = np.pad(a, pad, mode="edge") if any(p[1] for p in pad) else a
    views = (a[i :: f[0], j :: f[1], k :: f[2]] for i, j, k in itertools.product(*(range(k) for k in f)))
    if how == "max":
        out = next(views).copy()
        for v in views:
            np.maximum(out, v, out=out)
        return out.astype(dtype, copy=False)
    out = next(views).astype(np.float32)
    for v in views:
        out += v
    out /= float(np.prod(f))
    return out.astype(dtype, copy=False)


def refine(a: np.ndarray, f: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Back from blocks of ``f`` voxels to a grid of ``shape`` (each block repeated)."""
    for ax, k in enumerate(f):
        if k > 1:
            a = np.repeat(a, k, axis=ax)
    return a[: shape[0], : shape[1], : shape[2]]
