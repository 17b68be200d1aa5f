"""Bring a mask onto an image's voxel grid through patient space.

Label maps often come on the same voxels as the CT but stored with an axis flipped or the
axes permuted (the example series' NIfTI labels flip the row axis); stacking arrays naively
misaligns them. Here the mapping always goes through the two affines, with an exact
permute-and-flip fast path and nearest-neighbour interpolation otherwise.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.volume import Volume

__all__ = ["MaskGeometryError", "resample_labels"]


class MaskGeometryError(InputError):
    """A mask cannot be brought onto the image it is meant for."""


def _exact_permutation(matrix: np.ndarray, tol: float = 1e-3) -> bool:
    m = matrix[:3, :3]
    r = np.round(m)
    return bool(
        np.all(np.abs(m - r) < tol)
        and np.all(np.isin(r, (-1, 0, 1)))
        and np.all(np.abs(r).sum(axis=0) == 1)
        and np.all(np.abs(r).sum(axis=1) == 1)
        and np.all(np.abs(matrix[:3, 3] - np.round(matrix[:3, 3])) < tol)
    )


def _permute_copy(labels: np.ndarray, matrix: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Exact resampling when target index → source index is a signed permutation + integer shift."""
    m = np.round(matrix[:3, :3]).astype(int)
    t = np.round(matrix[:3, 3]).astype(int)
    out = np.zeros(shape, dtype=labels.dtype)
    # source axis used by each target axis, and its sign
    src_axis = [int(np.flatnonzero(m[:, j])[0]) for j in range(3)]
    # bring source axes into target order
    arr = np.transpose(labels, src_axis)
    src_slices, dst_slices = [], []
    for j in range(3):
        sign = m[src_axis[j], j]
        offset = t[src_axis[j]]
        n_src = arr.shape[j]
        if sign < 0:
            arr = np.flip(arr, axis=j)
            # source index s = offset - target index  →  flipped index f = n_src-1-s
            offset = n_src - 1 - offset
        # now source index = target index + offset
        lo = max(0, -offset)
        hi = min(shape[j], n_src - offset)
        if hi <= lo:
            return out
        dst_slices.append(slice(lo, hi))
        src_slices.append(slice(lo + offset, hi + offset))
    out[tuple(dst_slices)] = arr[tuple(src_slices)]
    return out


def resample_labels(labels: np.ndarray, affine: np.ndarray, reference: Volume, *, name: str = "mask") -> np.ndarray:
    """Resample a label array given with its own affine (index → LPS) onto ``reference``'s grid.

    Parameters
    ----------
    labels : (P, M, N) ndarray of int or bool
        Label map in its own index order.
    affine : (4, 4) ndarray
        Its index → LPS mm affine.
    reference : Volume
        The image the labels must line up with.

    Returns
    -------
    (P, M, N) ndarray
        Labels on the reference grid (nearest neighbour, 0 outside the mask's extent).

    Raises
    ------
    MaskGeometryError
        If no labelled voxel falls inside the image.
    """
    src = np.asarray(labels)
    if src.ndim != 3:
        raise MaskGeometryError(f"{name}: expected a 3-D label map, got shape {src.shape}")
    if not np.any(src):
        raise MaskGeometryError(f"{name}: the mask is empty (no labelled voxel)")
    matrix = np.linalg.inv(np.asarray(affine, dtype=float)) @ reference.affine
    if _exact_permutation(matrix):
        out = _permute_copy(src, matrix, reference.shape)
    else:
        out = ndi.affine_transform(
            src, matrix[:3, :3], offset=matrix[:3, 3], output_shape=reference.shape, order=0, mode="constant", cval=0
        )
    if not np.any(out):
        nz = [np.flatnonzero(np.any(src, axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
        lo = _extent([n[0] for n in nz], [n[-1] for n in nz], affine)
        hi = _extent([0, 0, 0], [s - 1 for s in reference.shape], reference.affine)
        raise MaskGeometryError(
            f"{name}: no labelled voxel falls inside the image in patient space (mask spans {lo}, image spans {hi} mm, LPS); "
            "is it the mask of another study or of another coordinate frame?"
        )
    return out


def _extent(first: list[int], last: list[int], affine: np.ndarray) -> str:
    corners = np.array([first, last], dtype=float)
    pts = corners @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]
    lo, hi = pts.min(0), pts.max(0)
    return "[" + ", ".join(f"{a:.0f}..{b:.0f}" for a, b in zip(lo, hi)) + "]"
