"""The phantom's truth: each lesion is drawn as its pattern says (the benchmark measures against it)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.morphology import branching
from hepcal.imaging.phantom import TISSUE_HU, LesionSpec, _star_directions, make_phantom


def test_star_arms_point_apart():
    rng = np.random.default_rng(0)
    for _ in range(500):
        d = _star_directions(rng)
        assert np.allclose(np.linalg.norm(d, axis=1), 1.0)
        cos = d @ d.T
        np.fill_diagonal(cos, -1.0)
        assert np.degrees(np.arccos(cos.max())) >= 45.0  # never two arms that merge into one


@pytest.mark.parametrize("seed", range(3))
def test_central_scar_is_stellate_calcium_inside_a_wider_scar(seed):
    ph = make_phantom(phase="unenhanced", lesions=[LesionSpec("central_scar")], seed=seed, spacing=(1.0, 1.0, 1.0), ribs=False, noise_sd=0.0, fov_mm=(150.0, 200.0, 220.0))
    calcium = ph.calcium == 1
    assert branching(calcium, ph.volume.spacing, 4.0).ends >= 3
    # around the calcium (beyond its blur) lies scar, not the mass: the scar is wider than its calcium
    ring = ndi.binary_dilation(calcium, iterations=3) & ~ndi.binary_dilation(calcium, iterations=1)
    hu = ph.volume.array[ring].astype(float)
    scar = np.abs(hu - TISSUE_HU["scar"]["unenhanced"]) < np.abs(hu - TISSUE_HU["enhancing"]["unenhanced"])
    assert scar.mean() >= 0.65  # 0.73 drawn so; a scar no wider than the arms left 0.43-0.51


def test_punctate_cluster_is_three_separate_dots():
    for seed in range(8):
        ph = make_phantom(phase="unenhanced", lesions=[LesionSpec("punctate")], seed=seed, ribs=False, noise_sd=0.0, fov_mm=(150.0, 200.0, 220.0))
        _, n = ndi.label(ph.calcium == 1, structure=np.ones((3, 3, 3), bool))
        assert n == 3, f"seed {seed}: {n} foci drawn"


@pytest.mark.parametrize("seed", [7, 4006])  # placed by size alone, these put a punctate cluster within 10 mm of a cyst
def test_lesions_are_placed_apart_or_refused_clearly(seed):
    ph = make_phantom(phase="delayed", lesions=[LesionSpec(p) for p in ("punctate", "coarse", "rim", "central")], seed=seed, ribs=False, noise_sd=0.0)
    sp = ph.volume.spacing
    for a in ph.lesions:  # calcium of two lesions is never within grouping distance (10 mm)
        gap = ndi.distance_transform_edt(ph.calcium != a.label, sampling=sp)
        others = (ph.calcium > 0) & (ph.calcium != a.label)
        assert gap[others].min() > 10.0, f"{a.pattern}: {gap[others].min():.1f} mm from another lesion"
    with pytest.raises(InputError, match="apart from each other"):
        make_phantom(lesions=[LesionSpec("rim", 60.0)] * 6, ribs=False, noise_sd=0.0)
    with pytest.raises(InputError, match="no room"):
        make_phantom(lesions=[LesionSpec("rim", 150.0)], ribs=False, noise_sd=0.0)
