"""The grid and morphology helpers: the same answers as the library routines they replace, and the
branch count of shapes whose arms are known, and the dots a blurred image resolves."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.measure import block_reduce, regionprops

from hepcal.imaging.morphology import ball, bbox, branching, closing, coarsen, diameter, dilate, distance_to, dots, refine, solidity


def _blobs(seed: int, shape=(24, 30, 28), level=0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.random(shape), 2.0) > level


@pytest.mark.parametrize("seed", range(6))
def test_solidity_equals_scikit_image(seed):
    lab, n = ndi.label(_blobs(seed, level=0.5 + 0.01 * seed))
    assert n > 0
    biggest = lab == (np.bincount(lab.ravel())[1:].argmax() + 1)
    expected = regionprops(biggest.astype(np.uint8))[0].solidity
    assert solidity(biggest) == pytest.approx(expected, abs=1e-12)


def test_solidity_of_simple_shapes():
    z, y, x = np.ogrid[:41, :41, :41]
    r = np.sqrt((z - 20) ** 2 + (y - 20) ** 2 + (x - 20) ** 2)
    assert solidity(r <= 15) > 0.9  # a ball nearly fills its hull (voxel steps on its surface)
    shell = (r <= 15) & (r > 12)
    assert solidity(shell) < 0.5  # a shell does not
    flat = np.zeros((5, 20, 20), bool)
    flat[2, 3:15, 3:15] = True
    assert solidity(flat) == pytest.approx(1.0)
    assert solidity(np.zeros((3, 3, 3), bool)) == 1.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.7, 0.7)])
def test_closing_equals_closing_by_a_ball(spacing):
    sp = np.array(spacing)
    mask = _blobs(1, level=0.53)
    r = 3.0
    pad = [int(np.ceil(r / s)) + 1 for s in sp]
    padded = np.pad(mask, [(p, p) for p in pad])
    expected = ndi.binary_closing(padded, ball(r, sp))[tuple(slice(p, -p) for p in pad)]
    assert np.array_equal(closing(mask, r, sp), expected)
    # a small mask in a large box and one touching the box's faces: only its own box is transformed
    small = np.zeros((40, 50, 60), bool)
    small[30:36, 2:9, 50:58] = mask[:6, :7, :8]
    padded = np.pad(small, [(p, p) for p in pad])
    assert np.array_equal(closing(small, r, sp), ndi.binary_closing(padded, ball(r, sp))[tuple(slice(p, -p) for p in pad)])
    edge = mask.copy()
    edge[0], edge[:, -1] = True, True
    padded = np.pad(edge, [(p, p) for p in pad])
    assert np.array_equal(closing(edge, r, sp), ndi.binary_closing(padded, ball(r, sp))[tuple(slice(p, -p) for p in pad)])
    assert not closing(np.zeros((5, 5, 5), bool), r, sp).any()


def test_coarsen_and_refine():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(9, 14, 10)).astype(np.float32)
    f = (1, 2, 2)
    expected = block_reduce(a, f, np.mean)
    assert np.allclose(coarsen(a, f, "mean", np.float32), expected, atol=1e-6)
    assert np.array_equal(coarsen(a, f, "max", np.float32), block_reduce(a, f, np.max))
    odd = rng.integers(0, 5, size=(7, 9, 11))
    c = coarsen(odd, (2, 3, 2), "max", odd.dtype)
    assert c.shape == (4, 3, 6)
    assert c.max() == odd.max()
    back = refine(c, (2, 3, 2), odd.shape)
    assert back.shape == odd.shape
    assert np.all(back >= odd)  # every voxel lies in a block whose maximum it cannot exceed
    assert coarsen(a, (1, 1, 1), "mean", np.float32) is a
    # zero padding: the weighted mean of partial edge blocks (the local liver reference's use)
    padded = np.pad(a, [(0, 0), (0, 0), (0, 1)])
    assert np.allclose(coarsen(a, (1, 2, 3), "mean", np.float32, pad="constant"), block_reduce(padded, (1, 2, 3), np.mean), atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_bbox_is_the_extent_of_the_voxels(seed):
    m = _blobs(seed, level=0.56)
    idx = np.argwhere(m)
    box = bbox(m)
    assert [(s.start, s.stop) for s in box] == [(int(lo), int(hi) + 1) for lo, hi in zip(idx.min(0), idx.max(0))]
    grown = bbox(m, (2, 0, 50))
    assert grown[0].start == max(0, box[0].start - 2) and grown[1] == box[1]
    assert grown[2] == slice(max(0, box[2].start - 50), m.shape[2])  # clipped to the array
    assert bbox(np.zeros((3, 4, 5), bool)) is None


@pytest.mark.parametrize("shape", [(7,), (5, 9), (4, 6, 8), (1, 1, 3), (3, 4, 2, 5)])
def test_bbox_equals_find_objects_in_any_dimension(shape):
    rng = np.random.default_rng(len(shape))
    for density in (0.02, 0.3):
        m = rng.random(shape) < density
        m = m if m.any() else np.ones(shape, bool)
        assert bbox(m) == ndi.find_objects(m.astype(np.uint8))[0]
        strided = m[..., ::2]  # a view that is not contiguous
        assert bbox(strided) == (ndi.find_objects(strided.astype(np.uint8))[0] if strided.any() else None)


@pytest.mark.parametrize("seed", range(5))
def test_dilate_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    m = _blobs(seed, shape=tuple(int(k) for k in rng.integers(3, 25, 3)), level=0.53)
    single = np.zeros((9, 1, 12), bool)
    single[4, 0, 0] = True
    for spacing in ((1.0, 0.7, 0.7), (2.5, 0.8, 0.8), (1.0, 1.4, 1.4)):
        for r in (0.6, 2.0, 3.0, 4.5):
            fp = ball(r, spacing)
            for mask in (m, single, np.zeros((4, 5, 6), bool), np.ones((3, 4, 5), bool)):
                assert np.array_equal(dilate(mask, fp), ndi.binary_dilation(mask, fp))
    odd = np.zeros((3, 3, 3), bool)
    odd[1, 1, [0, 2]] = True  # a row that is not one run: left to scipy
    assert np.array_equal(dilate(m, odd), ndi.binary_dilation(m, odd))


def test_diameter_of_an_ellipsoid_is_exact():
    """A 90 mm ellipsoid: the largest distance over every surface voxel (brute force), no thinning."""
    sp = np.array([1.0, 0.8, 0.8])
    n = (np.array([96, 48, 48]) / sp).astype(int)
    z, y, x = np.ogrid[: n[0], : n[1], : n[2]]
    c = (n - 1) / 2
    m = ((z - c[0]) * sp[0] / 45) ** 2 + ((y - c[1]) * sp[1] / 20) ** 2 + ((x - c[2]) * sp[2] / 20) ** 2 <= 1
    surface = np.argwhere(m & ~ndi.binary_erosion(m)) * sp
    brute = max(float(np.sqrt(((chunk[:, None] - surface[None]) ** 2).sum(-1)).max()) for chunk in np.array_split(surface, 20))
    assert diameter(m, sp) == pytest.approx(brute + sp.mean(), abs=1e-9)
    assert 89.0 <= diameter(m, sp) <= 91.0


def test_distance_to_is_exact_within_its_limit():
    sp = np.array([2.0, 0.8, 0.8])
    mask = np.zeros((30, 60, 60), bool)
    mask[10, 20:25, 30] = True
    mask[12, 40, 40:44] = True
    exact = ndi.distance_transform_edt(~mask, sampling=sp)
    d = distance_to(mask, sp, 10.0)
    near = exact <= 10.0
    assert np.allclose(d[near], exact[near], atol=1e-4)
    assert np.all(d[~near] > 10.0)
    assert np.all(np.isinf(distance_to(np.zeros((4, 4, 4), bool), sp, 5.0)))


def test_organ_crop_and_distance_match_the_full_closed_mask():
    from hepcal.imaging.morphology import Organ

    sp = np.array([1.0, 0.7, 0.7])
    z, y, x = np.ogrid[:40, :60, :60]
    mask = ((z - 20) ** 2 + ((y - 30) * 0.7) ** 2 + ((x - 30) * 0.7) ** 2) <= 15**2
    mask &= ~(((z - 20) ** 2 + ((y - 30) * 0.7) ** 2 + ((x - 52) * 0.7) ** 2) <= 8**2)  # a bay at the surface
    organ = Organ.build(mask, sp, 15.0, grid_mm=3.0)
    full = mask | refine(organ.coarse, organ.factors, mask.shape)
    assert full.sum() > mask.sum()  # the bay is (partly) closed
    for box in [(slice(0, 40), slice(0, 60), slice(0, 60)), (slice(7, 23), slice(11, 50), slice(40, 59))]:
        assert np.array_equal(organ.crop(box), full[box])
    pts = np.nonzero(np.ones(mask.shape, bool))
    d = organ.distance(pts)
    exact = ndi.distance_transform_edt(~full, sampling=sp)[pts]
    assert np.all(d[full[pts]] == 0)
    assert np.percentile(np.abs(d - exact), 99) < 3.0  # read off a 3 mm copy
    for mm in (0.0, 2.0, 10.0):  # a lower bound: never rules out a voxel the distance puts within mm
        maybe = organ.may_lie_within(pts, mm)
        assert not np.any((d <= mm) & ~maybe)
        assert not maybe[d > mm + 12.0].any()  # and is loose by at most about two 3 mm cells


def _rods(segments, radius_mm, spacing=(1.0, 1.0, 1.0), shape=(48, 48, 48)) -> np.ndarray:
    """Union of rods (capsules) between points given in mm."""
    sp = np.asarray(spacing, float)
    pts = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, sp)], indexing="ij"), axis=-1)
    out = np.zeros(shape, bool)
    for a, b in segments:
        a, b = np.asarray(a, float), np.asarray(b, float)
        t = np.clip(((pts - a) @ (b - a)) / float((b - a) @ (b - a)), 0, 1)
        out |= np.linalg.norm(pts - (a + t[..., None] * (b - a)), axis=-1) <= radius_mm
    return out


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (1.5, 0.8, 0.8)])
def test_branching_counts_the_arms_of_lines_ys_and_stars(spacing):
    c = np.array([24.0, 24.0, 24.0])
    line = _rods([(c - [0, 0, 15], c + [0, 0, 15])], 1.5, spacing)
    assert branching(line, spacing, 4.0).ends == 2
    assert branching(line, spacing, 4.0).side_branch_mm < 1.5
    assert branching(line, spacing, 4.0).length_mm == pytest.approx(30.0, abs=3.5)  # tip to tip along the rod
    y = _rods([(c - [0, 0, 12], c), (c, c + [0, 8, 8]), (c, c + [0, -8, 8])], 1.5, spacing)
    br = branching(y, spacing, 4.0)
    assert br.ends == 3 and br.side_branch_mm > 7.0
    dirs = [(1, 0, 0), (-0.3, 0.9, 0.3), (-0.3, -0.6, 0.75), (-0.3, -0.5, -0.8), (0.6, 0.2, -0.77)]
    star = _rods([(c, c + 10 * np.array(d) / np.linalg.norm(d)) for d in dirs], 1.3, spacing)
    assert branching(star, spacing, 4.0).ends == 5
    # a ball and a chunky ellipsoid have no branches, however they are voxelised
    z, y_, x = np.ogrid[:30, :30, :30]
    assert branching((z - 15) ** 2 + (y_ - 15) ** 2 + (x - 15) ** 2 <= 64, (1.0, 1.0, 1.0), 4.0).ends == 2
    assert branching(((z - 15) / 9.0) ** 2 + ((y_ - 15) / 5.0) ** 2 + ((x - 15) / 4.0) ** 2 <= 1, (1.0, 1.0, 1.0), 4.0).ends == 2


def test_branching_of_tiny_masks():
    assert branching(np.zeros((3, 3, 3), bool), (1.0, 1.0, 1.0), 4.0).ends == 0
    one = np.zeros((3, 3, 3), bool)
    one[1, 1, 1] = True
    assert branching(one, (1.0, 1.0, 1.0), 4.0).ends == 0


def _ct_of(shapes: list[np.ndarray], hu: float = 800.0, background: float = 60.0, noise: float = 12.0, seed: int = 0) -> np.ndarray:
    """A 1.5 mm CT of shapes drawn on a 0.3 mm grid: blurred, averaged into voxels, noisy."""
    fine = np.zeros(shapes[0].shape, bool)
    for s in shapes:
        fine |= s
    img = ndi.gaussian_filter(np.where(fine, hu, background).astype(np.float32), 0.5 / 0.3)
    n = img.shape[0] // 5
    img = img.reshape(n, 5, n, 5, n, 5).mean((1, 3, 5))
    return img + np.random.default_rng(seed).normal(0, noise, img.shape).astype(np.float32)


_FINE = (np.mgrid[:150, :150, :150] + 0.5) * 0.3  # mm on a 0.3 mm grid, 45 mm across


def _sphere_mm(centre, radius):
    return ((_FINE - np.reshape(centre, (3, 1, 1, 1))) ** 2).sum(0) <= radius**2


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, _ = ndi.label(mask, structure=np.ones((3, 3, 3), bool))
    return lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1


def test_dots_parts_two_dots_bridged_by_partial_volume():
    sp = (1.5, 1.5, 1.5)
    c = np.array([22.0, 22.4, 21.7])
    u = np.array([0.3, 0.8, 0.52]) / np.linalg.norm([0.3, 0.8, 0.52])
    parted = 0
    for seed in range(4):
        img = _ct_of([_sphere_mm(c, 1.5), _sphere_mm(c + 5.5 * u, 1.8)], seed=seed)
        focus = _largest(img >= 130)
        d = dots(img, focus, sp, 60.0)
        parted += d.count == 2
        if d.count == 2:  # each dot measured at half its maximum: about its true size, not the bloom
            assert max(d.diameters_mm) <= 5.0
            assert set(np.unique(d.labels[focus])) == {1, 2} and not d.labels[~focus].any()
    assert parted >= 3  # noise may join a bridge now and then, as it would on a real scan


def test_dots_keep_a_ball_a_rod_and_a_ring_whole():
    sp = (1.5, 1.5, 1.5)
    for radius, expected in ((1.5, 3.0), (2.5, 5.0), (5.0, 10.0)):
        img = _ct_of([_sphere_mm((22, 22, 22), radius)])
        d = dots(img, _largest(img >= 130), sp, 60.0)
        assert d.count == 1
        assert d.diameters_mm[0] == pytest.approx(expected, abs=1.5)
    # a thin rod across the voxel grid (its partial volume rises and falls along it) and a ring
    t = np.linspace(0, 1, 60)[:, None]
    a, b = np.array([8.0, 10.0, 12.0]), np.array([36.0, 30.0, 33.0])
    rod = np.zeros(_FINE.shape[1:], bool)
    for p in a + t * (b - a):
        rod |= _sphere_mm(p, 1.0)
    img = _ct_of([rod])
    d = dots(img, _largest(img >= 130), sp, 60.0)
    assert d.count == 1 and d.diameters_mm[0] > 30
    r = np.sqrt((_FINE[1] - 22) ** 2 + (_FINE[2] - 22) ** 2)
    ring = (np.abs(r - 12) <= 1.0) & (np.abs(_FINE[0] - 22) <= 1.0)
    img = _ct_of([ring])
    d = dots(img, _largest(img >= 130), sp, 60.0)
    assert d.count == 1 and d.diameters_mm[0] > 20


def test_dots_of_an_empty_or_flat_mask():
    assert dots(np.zeros((4, 4, 4)), np.zeros((4, 4, 4), bool), (1, 1, 1), 0.0).count == 0
    flat = np.zeros((5, 5, 5), bool)
    flat[2, 2, 1:4] = True
    d = dots(np.zeros((5, 5, 5)), flat, (1.0, 1.0, 1.0), 0.0)  # nothing above the background
    assert d.count == 1 and d.diameters_mm == (3.0,)
