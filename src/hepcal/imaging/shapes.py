"""Signed-distance primitives and the painter that writes them into a volume with partial volume.

Used by the phantom generator and by lesion insertion into real studies: a synthetic lesion is
a list of layers (shape, attenuation); each layer is painted with a soft edge one voxel wide,
so small calcifications lose peak density to partial volume the way real ones do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Layer", "capsule", "ellipsoid", "paint", "shell", "slab_in_sphere", "sphere", "union"]

#: sdf(points (..., 3) in mm, LPS) -> signed distance in mm (negative inside)
SDF = Callable[[np.ndarray], np.ndarray]


def sphere(center: Sequence[float], radius: float) -> SDF:
    c = np.asarray(center, float)
    return lambda p: np.linalg.norm(p - c, axis=-1) - radius


def ellipsoid(center: Sequence[float], semi_axes: Sequence[float], rotation: np.ndarray | None = None) -> SDF:
    """Approximate SDF of an ellipsoid (exact on the axes; good enough for soft edges)."""
    c = np.asarray(center, float)
    ax = np.asarray(semi_axes, float)
    rot = np.eye(3) if rotation is None else np.asarray(rotation, float)

    def f(p: np.ndarray) -> np.ndarray:
        q = (p - c) @ rot  # into the ellipsoid frame
        k0 = np.linalg.norm(q / ax, axis=-1)
        k1 = np.linalg.norm(q / (ax * ax), axis=-1)
        return np.where(k1 > 0, k0 * (k0 - 1.0) / np.maximum(k1, 1e-9), -ax.min())

    return f


def capsule(a: Sequence[float], b: Sequence[float], radius: float) -> SDF:
    """A rod of ``radius`` from point ``a`` to point ``b`` with round ends."""
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    ab = b_ - a_
    L2 = float(ab @ ab) or 1e-9

    def f(p: np.ndarray) -> np.ndarray:
        t = np.clip(((p - a_) @ ab) / L2, 0.0, 1.0)
        return np.linalg.norm(p - (a_ + t[..., None] * ab), axis=-1) - radius

    return f


def shell(inner: SDF, thickness: float, keep: Callable[[np.ndarray], np.ndarray] | None = None) -> SDF:
    """A wall of ``thickness`` along the surface of ``inner``; ``keep(p)`` limits it to a part."""

    def f(p: np.ndarray) -> np.ndarray:
        d = np.abs(inner(p) + thickness / 2) - thickness / 2
        if keep is not None:
            d = np.where(keep(p), d, np.maximum(d, 1.0))
        return d

    return f


def slab_in_sphere(center: Sequence[float], radius: float, normal: Sequence[float], thickness: float, offset: float = 0.0) -> SDF:
    """A flat disc (septum) of ``thickness`` through a sphere."""
    c = np.asarray(center, float)
    n = np.asarray(normal, float)
    n = n / np.linalg.norm(n)

    def f(p: np.ndarray) -> np.ndarray:
        q = p - c
        plane = np.abs(q @ n - offset) - thickness / 2
        ball = np.linalg.norm(q, axis=-1) - radius
        return np.maximum(plane, ball)

    return f


def union(*sdfs: SDF) -> SDF:
    return lambda p: np.min(np.stack([s(p) for s in sdfs]), axis=0)


@dataclass(frozen=True)
class Layer:
    """One material of a synthetic object: its shape, attenuation and whether it is calcium."""

    sdf: SDF
    hu: float
    calcium: bool = False
    extent_mm: float = 0.0  # radius around ``center`` that bounds the shape
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)


def paint(
    array: np.ndarray,
    affine: np.ndarray,
    layers: Sequence[Layer],
    *,
    calcium_out: np.ndarray | None = None,
    noise_sd: float = 0.0,
    rng: np.random.Generator | None = None,
) -> None:
    """Write ``layers`` (in order) into ``array`` in place, with a one-voxel soft edge.

    ``calcium_out`` (bool, same shape) receives the voxels more than half filled by calcium
    layers: the ground truth. ``noise_sd`` adds white noise inside painted voxels (used when
    inserting into a real, already noisy study).
    """
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    h = float(spacing.mean())
    inv = np.linalg.inv(affine)
    for layer in layers:
        c = np.asarray(layer.center, float)
        r = layer.extent_mm + 2 * h
        corners = np.array([[c[0] + dx, c[1] + dy, c[2] + dz] for dx in (-r, r) for dy in (-r, r) for dz in (-r, r)])
        idx = corners @ inv[:3, :3].T + inv[:3, 3]
        lo = np.maximum(np.floor(idx.min(0)).astype(int), 0)
        hi = np.minimum(np.ceil(idx.max(0)).astype(int) + 1, array.shape)
        if np.any(hi <= lo):
            continue
        grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij")
        ijk = np.stack(grids, axis=-1).astype(float)
        pts = ijk @ affine[:3, :3].T + affine[:3, 3]
        occ = np.clip(0.5 - layer.sdf(pts) / h, 0.0, 1.0).astype(np.float32)
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        sub = array[box]
        new = sub * (1 - occ) + layer.hu * occ
        if noise_sd > 0 and rng is not None:
            new = new + occ * rng.normal(0.0, noise_sd, occ.shape).astype(np.float32)
        array[box] = new.astype(array.dtype) if np.issubdtype(array.dtype, np.floating) else np.round(new).astype(array.dtype)
        if calcium_out is not None:
            if layer.calcium:
                calcium_out[box] |= occ > 0.5
            else:
                calcium_out[box] &= ~(occ > 0.5)
