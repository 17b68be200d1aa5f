"""One CT volume with its geometry: the HU array and where every voxel is in the patient.

Convention (fixed everywhere inside :mod:`hepcal.imaging`, converted only at I/O):

* the array is indexed ``(plane, row, column)``;
* ``affine`` is a 4 × 4 matrix mapping ``(plane, row, column, 1)`` to patient coordinates in
  millimetres in the DICOM **LPS** frame (+x towards the patient's left, +y posterior,
  +z superior) — the frame of DICOM and of highdicom's ``Volume``;
* readers put volumes in the *canonical* orientation: plane index grows inferior → superior,
  row index anterior → posterior, column index patient right → left. ``array[p]`` then shows an
  axial slice the way radiologists read it (patient's right on the viewer's left, anterior up).

Keeping one convention means volumes, distances and HU thresholds are always computed from the
same object, never from a bare array whose orientation must be guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepcal.errors import InputError

__all__ = ["Volume", "canonical_orientation", "check_affine", "ras_to_lps"]

#: Flips the x and y axes: RAS (NIfTI) ↔ LPS (DICOM). Its own inverse.
_RAS_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def ras_to_lps(affine: np.ndarray) -> np.ndarray:
    """Convert an affine whose output is RAS millimetres into one whose output is LPS (or back)."""
    return _RAS_LPS @ np.asarray(affine, dtype=float)


def check_affine(affine: np.ndarray) -> np.ndarray:
    """A finite 4 × 4 affine with a non-singular direction matrix, or an :class:`InputError`."""
    a = np.asarray(affine, dtype=float)
    if a.shape != (4, 4):
        raise InputError(f"affine must be a 4x4 matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError("affine contains non-finite values")
    spacing = np.linalg.norm(a[:3, :3], axis=0)
    if np.any(spacing <= 0) or abs(np.linalg.det(a[:3, :3])) < 1e-9:
        raise InputError(f"voxel spacing must be > 0 along every axis, got {spacing.round(4).tolist()} mm")
    return a


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image in ``(plane, row, column)`` order with an affine to LPS millimetres.

    Parameters
    ----------
    array : (P, M, N) ndarray
        Voxel values (Hounsfield units for CT; labels for masks).
    affine : (4, 4) ndarray
        Index ``(plane, row, column, 1)`` → LPS mm.
    metadata : mapping, optional
        Facts about the source (modality, kVp, series UID, …), carried along unchanged.
    """

    array: np.ndarray
    affine: np.ndarray
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise InputError(f"a volume must be 3-D (plane, row, column), got shape {self.array.shape}")
        object.__setattr__(self, "affine", check_affine(self.affine))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size in mm along (plane, row, column)."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)

    @property
    def direction(self) -> np.ndarray:
        """Unit vectors (columns) of the plane, row and column axes in LPS."""
        return self.affine[:3, :3] / self.spacing

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    def index_to_lps(self, index: Sequence[float] | np.ndarray) -> np.ndarray:
        """Patient LPS mm of one index ``(p, r, c)`` or of an (K, 3) array of indices."""
        idx = np.asarray(index, dtype=float)
        return idx @ self.affine[:3, :3].T + self.affine[:3, 3]

    def lps_to_index(self, point: Sequence[float] | np.ndarray) -> np.ndarray:
        """Fractional index of one LPS point or of an (K, 3) array of points."""
        inv = np.linalg.inv(self.affine)
        pts = np.asarray(point, dtype=float)
        return pts @ inv[:3, :3].T + inv[:3, 3]

    def with_array(self, array: np.ndarray, **metadata: Any) -> Volume:
        """Same geometry, other voxels (e.g. a mask of this image)."""
        if array.shape != self.array.shape:
            raise InputError(f"array shape {array.shape} differs from the volume's {self.array.shape}")
        return Volume(array, self.affine, {**self.metadata, **metadata})

    def crop(self, box: tuple[slice, slice, slice]) -> Volume:
        """A view on the sub-block ``box`` with its affine moved to the new origin."""
        start = np.array([s.start or 0 for s in box], dtype=float)
        affine = self.affine.copy()
        affine[:3, 3] = self.index_to_lps(start)
        return Volume(self.array[box], affine, self.metadata)


#: The canonical orientation in nibabel's terms: array axis k → (world axis, direction) in LPS,
#: i.e. plane → +z (superior), row → +y (posterior), column → +x (left).
_CANONICAL = np.array([[2.0, 1.0], [1.0, 1.0], [0.0, 1.0]])


def canonical_orientation(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transpose and flip ``array`` so its axes run S, P, L (plane, row, column), exactly.

    Only axis permutations and flips are used, so no voxel is interpolated; the affine is
    updated to match. ``nibabel.orientations`` chooses, for oblique acquisitions, the patient
    axis each array axis is closest to (jointly over the three axes, which also settles near-45°
    cases consistently); the affine keeps the true (oblique) directions.
    """
    from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation, ornt_transform

    a = check_affine(affine)
    start = io_orientation(a)
    if np.isnan(start).any():
        raise InputError("the affine's axes cannot be matched to patient axes (degenerate direction matrix)")
    transform = ornt_transform(start, _CANONICAL)
    arr = apply_orientation(np.asarray(array), transform)
    new = a @ inv_ornt_aff(transform, np.asarray(array).shape)
    return np.ascontiguousarray(arr), new
