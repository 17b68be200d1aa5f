"""Grid and morphology helpers shared by the liver, detection and characterisation steps.

Every size is in millimetres on an anisotropic grid, so a step means the same thing on a
0.7 mm and on a 3 mm study.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from scipy.cluster.hierarchy import DisjointSet
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist
from skimage.graph import MCP_Geometric

__all__ = [
    "Branching", "Dots", "Organ", "ball", "bbox", "branching", "closing", "coarsen", "diameter", "dilate", "distance_to", "dots",
    "refine", "solidity",
]


def diameter(mask: np.ndarray, spacing: np.ndarray | tuple[float, ...]) -> float:
    """Largest diameter in mm: between voxel centres, plus one voxel (a single voxel measures its size)."""
    sp = np.asarray(spacing, float)
    if mask.sum() > 2000:  # the farthest points lie on the surface: the same hull, fewer points
        mask = mask & ~ndi.binary_erosion(mask)
    return _feret(np.argwhere(mask) * sp) + float(np.mean(sp))


def _feret(points_mm: np.ndarray) -> float:
    """Largest distance between two points: exact, over the convex hull's vertices (all points when few)."""
    if len(points_mm) < 2:
        return 0.0
    pts = points_mm
    if len(pts) > 8:
        try:
            pts = pts[ConvexHull(pts).vertices]
        except QhullError:  # flat set
            pass
    return float(pdist(pts).max())


def bbox(mask: np.ndarray, pad: int | Sequence[int] = 0) -> tuple[slice, ...] | None:
    """The bounding box of ``mask``'s voxels grown by ``pad`` voxels (clipped); ``None`` when empty.

    The one bounding-box routine of the imaging code: the box ``scipy.ndimage.find_objects``
    gives, from vectorised ``any`` reductions (the planes holding voxels, then those planes
    folded onto one), about 30 times faster than its voxel-by-voxel loop on a study-sized mask.
    """
    m = np.asarray(mask, bool)
    found = _extent(m) if m.ndim else None
    if found is None:
        return None
    pads = [pad] * m.ndim if isinstance(pad, (int, np.integer)) else list(pad)
    return tuple(slice(max(0, s.start - int(q)), min(n, s.stop + int(q))) for s, q, n in zip(found, pads, m.shape))


def _extent(m: np.ndarray) -> list[slice] | None:
    """The bounding box of a boolean array's True voxels (None when it has none)."""
    idx = np.flatnonzero(np.any(m, axis=tuple(range(1, m.ndim))) if m.ndim > 1 else m)
    if idx.size == 0:
        return None
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    if m.ndim == 1:
        return [slice(lo, hi)]
    return [slice(lo, hi), *(_extent(np.any(m[lo:hi], axis=0)) or [])]


def ball(radius_mm: float, spacing: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """An ellipsoidal footprint of ``radius_mm`` in millimetres on an anisotropic grid."""
    sp = np.asarray(spacing, dtype=float)
    half = [int(np.floor(radius_mm / s)) for s in sp]
    grid = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    dist = sum((g * s / max(radius_mm, 1e-9)) ** 2 for g, s in zip(grid, sp))
    return np.asarray(dist <= 1.0)


def dilate(mask: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_dilation(mask, footprint)`` for a symmetric footprint such as :func:`ball`.

    The same voxels, computed row by row: each row of the footprint along the last axis is one
    run of voxels, so the dilation is the union, over the rows, of the mask dilated along that
    axis by the run (a running count) and shifted by the row's offset. The cost grows with the
    voxels of the mask's box times the rows of the footprint, not times its voxels (scipy's), and
    only the mask's bounding box grown by the footprint is worked on.
    """
    m = np.asarray(mask, bool)
    fp = np.asarray(footprint, bool)
    half = [k // 2 for k in fp.shape]
    out = np.zeros(m.shape, bool)
    rows = _rows(fp)
    if rows is None or not np.array_equal(fp, fp[::-1, ::-1, ::-1]):  # not the kind of footprint this is for
        return np.asarray(ndi.binary_dilation(m, fp))
    box = bbox(m, half)
    if box is None:
        return out
    out[box] = _dilate_rows(m[box], rows)
    return out


def _rows(fp: np.ndarray) -> dict[tuple[int, int], int] | None:
    """{(offset along axis 0, along axis 1): half length of the centred run along axis 2}; None if a row is not one centred run."""
    if fp.ndim != 3 or any(k % 2 == 0 for k in fp.shape):
        return None
    half = [k // 2 for k in fp.shape]
    out = {}
    for i, j in zip(*np.nonzero(fp.any(axis=2))):
        xs = np.flatnonzero(fp[i, j])
        w = half[2] - int(xs[0])
        if int(xs[-1]) != half[2] + w or len(xs) != 2 * w + 1:
            return None
        out[(int(i) - half[0], int(j) - half[1])] = w
    return out


def _dilate_rows(m: np.ndarray, rows: dict[tuple[int, int], int]) -> np.ndarray:
    """The dilation of ``m`` (zeros beyond it) by the footprint ``rows`` describes (see :func:`dilate`)."""
    n = m.shape[2]
    count = np.zeros(m.shape[:2] + (n + 1,), np.int32)  # count[..., x] = voxels of m before x along the row
    np.cumsum(m, axis=2, out=count[..., 1:])
    runs = {}
    for w in set(rows.values()):
        hi = np.minimum(np.arange(n) + w + 1, n)
        lo = np.maximum(np.arange(n) - w, 0)
        runs[w] = count[..., hi] > count[..., lo]
    out = np.zeros(m.shape, bool)
    p, q = m.shape[:2]
    for (i, j), w in rows.items():  # out[z, y] |= run[z + i, y + j]
        if abs(i) >= p or abs(j) >= q:
            continue
        dst = (slice(max(0, -i), p - max(0, i)), slice(max(0, -j), q - max(0, j)))
        src = (slice(max(0, i), p + min(0, i)), slice(max(0, j), q + min(0, j)))
        out[dst] |= runs[w][src]
    return out


def closing(mask: np.ndarray, radius_mm: float, sp: np.ndarray) -> np.ndarray:
    """Morphological closing by a ball of ``radius_mm``, from two distance transforms.

    The same result as a closing with the ball as structuring element (dilation: within the
    radius of the mask; erosion: farther than the radius from outside), at a cost that does not
    grow with the ball on fine grids.
    """
    mask = np.asarray(mask, bool)
    out = np.zeros(mask.shape, bool)
    if not mask.any():
        return out
    # only the mask's bounding box (plus the radius) can change: the transforms run on it alone
    box = bbox(mask)
    pad = [int(np.ceil(radius_mm / s)) + 1 for s in sp]
    m = np.pad(mask[box], [(p, p) for p in pad])
    grown = ndi.distance_transform_edt(~m, sampling=sp) <= radius_mm
    closed = ndi.distance_transform_edt(grown, sampling=sp) > radius_mm
    grow = tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pad, mask.shape))
    out[grow] = closed[tuple(slice(p - (b.start - g.start), p + (g.stop - b.start)) for b, p, g in zip(box, pad, grow))]
    return out


def coarsen(a: np.ndarray, f: tuple[int, ...], how: str, dtype: Any, *, pad: str = "edge") -> np.ndarray:
    """Blocks of ``f`` voxels reduced to their ``mean`` or ``max``.

    The one block reduction of the imaging code. Partial blocks at the far edges are padded by
    repetition (``pad="edge"``) or with zeros (``pad="constant"``, for weighted means that
    divide two coarsened arrays). Summed over the few strided views of the block offsets: for
    the 2 × 2 to 4 × 4 blocks used here that is several times faster than scikit-image's
    ``block_reduce``, which reshapes into blocks (measured when it was written; kept for that).
    """
    if all(k == 1 for k in f):
        return a.astype(dtype, copy=False)
    widths = [(0, (-n) % k) for n, k in zip(a.shape, f)]
    a = np.pad(a, widths, mode=pad) if any(w[1] for w in widths) else a
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


@dataclass
class Organ:
    """A mask with its surface bays closed, kept as the exact mask plus a coarse closed copy.

    Detection asks two things of the liver: how far each dense voxel is from it (everywhere in
    its bounding box) and, for a few candidates, which voxels around them are liver (exactly).
    The coarse copy answers the first cheaply; the second is assembled only in the small boxes
    asked for. Nothing study-sized is allocated beyond the coarse copy.
    """

    mask: np.ndarray
    spacing: np.ndarray
    factors: tuple[int, ...]
    coarse: np.ndarray  # bool on blocks of ``factors``: the mask closed by a ball
    _distance: np.ndarray | None = field(default=None, repr=False)
    _low: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(cls, mask: np.ndarray, spacing: np.ndarray, bay_mm: float, *, grid_mm: float = 3.0) -> Organ:
        sp = np.asarray(spacing, float)
        f = tuple(max(1, int(round(grid_mm / s))) for s in sp)
        small = coarsen(mask, f, "mean", np.float32) >= 0.5
        if bay_mm > 0 and small.any():
            small = closing(small, bay_mm, sp * np.array(f))
        return cls(mask, sp, f, small)

    def crop(self, box: tuple[slice, ...]) -> np.ndarray:
        """The organ (mask or closed bay) on ``box`` of the mask's grid."""
        cbox = tuple(slice(b.start // k, (b.stop - 1) // k + 1) for b, k in zip(box, self.factors))
        fine = refine(self.coarse[cbox], self.factors, tuple((c.stop - c.start) * k for c, k in zip(cbox, self.factors)))
        off = tuple(slice(b.start - c.start * k, b.start - c.start * k + (b.stop - b.start)) for b, c, k in zip(box, cbox, self.factors))
        return self.mask[box] | fine[off]

    def distance(self, points: tuple[np.ndarray, ...]) -> np.ndarray:
        """Distance (mm) from the organ at the voxels ``points`` (0 inside), read off the coarse copy.

        The coarse copy's distance map is interpolated linearly at the points: on the
        512 × 512 × 400 benchmark study (3 mm copy), within 1.6 mm of the exact value for 99 % of
        the dense voxels up to 25 mm from the liver (2.3 mm at most), at a small fraction of the
        time and memory of an exact transform of the whole box (scipy's needs ~60 bytes per
        voxel). A grid already that coarse is transformed exactly.
        """
        f = np.array(self.factors)
        # per axis, each fine index's coarse coordinate is looked up in a table (the same values, fewer passes)
        fine = [np.arange(m) for m in self.mask.shape]
        at = [((i - (k - 1) / 2) / k)[p] for i, p, k in zip(fine, points, f)]
        out = ndi.map_coordinates(self._coarse_distance(), at, order=1, mode="nearest")
        inside = self.mask[points] | self.coarse[tuple(np.minimum(i // k, n - 1)[p] for i, p, k, n in zip(fine, points, f, self.coarse.shape))]
        out[inside] = 0.0
        return out

    def may_lie_within(self, points: tuple[np.ndarray, ...], mm: float) -> np.ndarray:
        """False where :meth:`distance` is surely more than ``mm`` (a cheap lower bound, no interpolation).

        An interpolated distance is at least the smallest of the coarse values around it, so
        the minimum over each coarse voxel's neighbours bounds it from below. Detection uses it
        to skip the exact distance of the many bone voxels far from the liver.
        """
        f = np.array(self.factors)
        if self._low is None:
            self._low = ndi.minimum_filter(self._coarse_distance(), size=3, mode="nearest")
        fine = [np.arange(m) for m in self.mask.shape]  # a table per axis, as in :meth:`distance`
        near = tuple(np.clip(np.round((i - (k - 1) / 2) / k).astype(np.intp), 0, n - 1)[p] for i, p, k, n in zip(fine, points, f, self.coarse.shape))
        return (self._low[near] <= mm) | self.mask[points]

    def _coarse_distance(self) -> np.ndarray:
        if self._distance is None:
            self._distance = ndi.distance_transform_edt(~self.coarse, sampling=self.spacing * np.array(self.factors))
        return self._distance


def distance_to(mask: np.ndarray, spacing: np.ndarray, limit_mm: float) -> np.ndarray:
    """Distance (mm) from every voxel to the nearest voxel of ``mask``; exact up to ``limit_mm``.

    Voxels farther than ``limit_mm`` from the mask's bounding box get ``inf``. The transform
    runs only on that box grown by the limit, which for sparse calcium in a large
    neighbourhood is a small part of it.
    """
    out = np.full(mask.shape, np.inf, np.float32)
    if not mask.any():
        return out
    box_t = bbox(mask, [int(np.ceil(limit_mm / s)) + 1 for s in spacing])
    out[box_t] = ndi.distance_transform_edt(~mask[box_t], sampling=spacing)
    return out


#: Each voxel centre moved half a voxel along each axis: the hull then wraps the voxels' faces,
#: as scikit-image's ``convex_hull_image(offset_coordinates=True)`` does.
_FACES = np.array([[0.5, 0, 0], [-0.5, 0, 0], [0, 0.5, 0], [0, -0.5, 0], [0, 0, 0.5], [0, 0, -0.5]])


def solidity(mask: np.ndarray, tolerance: float = 1e-10) -> float:
    """Voxels of ``mask`` / voxels whose centre lies in its convex hull (1.0 for a flat mask).

    The value of scikit-image's ``regionprops(...).solidity``, counted differently: each row of
    voxels along the last axis meets the hull in one interval, whose ends follow from the hull's
    facet planes, so the cost grows with rows × facets instead of voxels × facets (a large rim
    calcification: tens of milliseconds instead of hundreds).
    """
    n = int(mask.sum())
    if n < 4:
        return 1.0
    surface = mask & ~ndi.binary_erosion(mask)
    pts = (np.argwhere(surface)[:, None, :] + _FACES[None]).reshape(-1, 3)
    try:
        hull = ConvexHull(pts)
    except QhullError:  # all voxels in one plane or line: no volume to fill
        return 1.0
    a, b = hull.equations[:, :3], hull.equations[:, 3]
    lo, hi = np.floor(pts.min(0)).astype(int), np.ceil(pts.max(0)).astype(int)
    z, y = (g.ravel() for g in np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij"))
    # a voxel (z, y, x) is inside when a_z z + a_y y + a_x x + b < tolerance for every facet
    c = tolerance - (np.outer(z, a[:, 0]) + np.outer(y, a[:, 1]) + b)  # a_x x < c
    ax = a[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = c / ax
    up = np.where(ax > 1e-12, bound, np.inf).min(axis=1)
    down = np.where(ax < -1e-12, bound, -np.inf).max(axis=1)
    flat = np.abs(ax) <= 1e-12
    ok = np.all(c[:, flat] > 0, axis=1) if flat.any() else np.ones(len(z), bool)
    x_hi = np.ceil(up) - 1  # largest integer x with x < up
    x_lo = np.floor(down) + 1  # smallest integer x with x > down
    count = int(np.clip(x_hi - x_lo + 1, 0, None)[ok].sum())
    return min(1.0, n / count) if count else 1.0


@dataclass(frozen=True)
class Branching:
    """How a calcification branches: its ends and its longest side branch (mm)."""

    ends: int
    side_branch_mm: float
    length_mm: float  # geodesic length of its main path


def branching(mask: np.ndarray, spacing: np.ndarray | tuple[float, ...], min_branch_mm: float) -> Branching:
    """Ends and side branches of one connected calcification, from geodesic distances inside it.

    The main path joins the two points of the mask farthest apart along paths that stay inside
    it (a double sweep of geodesic distances, scikit-image ``MCP_Geometric``). Every voxel's
    geodesic distance to that path tells how far it reaches away from it: a side branch is a
    connected part of the mask that reaches more than ``min_branch_mm`` beyond the half
    thickness of the calcification (its largest inscribed ball). A line has two ends, a Y three,
    a star with five arms five; a round or chunky nodule has two (its bumps stay within its own
    thickness). Arms that leave the path together are counted apart where they separate.
    Unlike counting the end points of a skeleton, this does not depend on how thinning resolves
    a junction of short, thick branches on a coarse grid.
    """
    sp = np.asarray(spacing, float)
    m = np.pad(np.asarray(mask, bool), 1)
    if m.sum() < 3:
        return Branching(ends=0, side_branch_mm=0.0, length_mm=0.0)
    mcp = MCP_Geometric(np.where(m, 1.0, np.inf), sampling=tuple(sp))
    pts = np.argwhere(m)
    start = tuple(pts[np.argmin(((pts - pts.mean(0)) ** 2).sum(1))])

    def farthest(seeds: list) -> tuple[tuple[int, ...], float]:
        d = np.where(m, mcp.find_costs(seeds)[0], -1.0)  # find_costs reuses its buffer: copy
        k = np.unravel_index(int(np.argmax(d)), m.shape)
        return tuple(int(v) for v in k), float(d[k])

    a, _ = farthest([start])
    b, length = farthest([a])
    path = mcp.traceback(b)
    reach = np.where(m, mcp.find_costs(path)[0], 0.0)
    core = float(ndi.distance_transform_edt(m, sampling=sp).max())
    if not np.any(reach - core >= min_branch_mm):
        return Branching(ends=2, side_branch_mm=round(max(float(reach.max()) - core, 0.0), 2), length_mm=round(length, 2))
    # arms that leave the path together stay joined near it: they are told apart by cutting
    # closer to their tips, one voxel at a time, up to the length a branch must reach
    branches = 0
    for cut in np.arange(0.0, min_branch_mm, float(sp.min())):
        lab, n = ndi.label(m & (reach > core + cut), structure=np.ones((3, 3, 3), bool))
        tips = np.asarray(ndi.maximum(reach, lab, index=np.arange(1, n + 1))) - core
        branches = max(branches, int(np.sum(tips >= min_branch_mm)))
    return Branching(ends=2 + branches, side_branch_mm=round(float(reach.max()) - core, 2), length_mm=round(length, 2))


@dataclass(frozen=True)
class Dots:
    """The dots one calcification is made of: a label per dot and each dot's largest diameter."""

    labels: np.ndarray  # int, 0 outside the mask, 1..n per dot
    diameters_mm: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.diameters_mm)


def dots(values: np.ndarray, mask: np.ndarray, spacing: np.ndarray | tuple[float, ...], background: float, resolve: float = 0.5) -> Dots:
    """Split thresholded calcium into the separate dense dots the image resolves.

    Small dense dots bloom on CT: partial volume spreads each over about one more voxel, so two
    dots a few millimetres apart are joined by a faint bridge at a threshold of 130-300 HU and
    read as one focus twice their size. Two peaks are separate dots when every path between them
    inside the mask dips below ``resolve`` (half) of the lower peak's height above
    ``background`` (the half-maximum convention for telling two objects apart). Peaks are the
    regional maxima of ``values`` (scikit-image ``h_maxima``, ignoring ripples under a tenth of
    the height), the voxels are shared among them by a watershed, and pieces whose peaks the
    image does not resolve are joined again. A uniform chunk, a line or a ring stays one dot.
    """
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    sp = np.asarray(spacing, float)
    m = np.asarray(mask, bool)
    v = np.where(m, np.asarray(values, np.float32), np.float32(background))
    peak = float(v[m].max()) if m.any() else background
    height = peak - background
    if not m.any() or height <= 0:
        lab, n = ndi.label(m, structure=np.ones((3, 3, 3), bool))
        return Dots(lab.astype(np.int32), tuple(diameter(lab == k, sp) for k in range(1, n + 1)))
    markers, n = ndi.label(h_maxima(v, max(0.1 * height, 1e-3)) & m, structure=np.ones((3, 3, 3), bool))
    pieces = watershed(-v, markers, mask=m, connectivity=3) if n > 1 else m.astype(np.int32)
    if n > 1:
        tops = ndi.maximum_position(v, pieces, index=np.arange(1, n + 1))
        heights = np.array([v[t] for t in tops], float)
        joined = DisjointSet(range(1, n + 1))
        for i in np.argsort(heights):  # the pair's lower peak sets the level that must part them
            level = background + resolve * (heights[i] - background)
            comp, _ = ndi.label(m & (v >= level), structure=np.ones((3, 3, 3), bool))
            mine = comp[tops[i]]
            for j in np.flatnonzero(heights >= heights[i]):
                if j != i and comp[tops[j]] == mine:
                    joined.merge(int(i) + 1, int(j) + 1)
        roots = np.array([0] + [min(joined.subset(k)) for k in range(1, n + 1)])
        _, pieces = np.unique(roots[pieces], return_inverse=True)
        pieces = pieces.reshape(m.shape)
    n = int(pieces.max())
    sizes = []
    for k in range(1, n + 1):  # each dot measured at half its own maximum, not at the threshold
        piece = pieces == k
        top = float(v[piece].max())
        sizes.append(diameter(piece & (v >= background + resolve * (top - background)), sp))
    return Dots(pieces.astype(np.int32), tuple(sizes))
