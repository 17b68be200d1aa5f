import pytest

from hepcal.imaging.liver import load_mask
from hepcal.imaging.phantom import make_phantom
from hepcal.imaging.phase import detect_phase
from hepcal.imaging.reading import read_study
from tests.imaging.conftest import example


@pytest.mark.parametrize("phase", ["unenhanced", "arterial", "portal", "delayed"])
def test_phase_of_phantoms(phase):
    ph = make_phantom(phase=phase, seed=6, spacing=(2.0, 1.2, 1.2))
    assert detect_phase(ph.volume, ph.liver).phase == phase


def test_real_portal_venous_study():
    v = read_study(example("ct_dicom"))
    est = detect_phase(v, load_mask(example("ct_dicom_labels.nii.gz"), v, label=5))
    assert est.phase == "portal"
    assert est.aorta_hu == pytest.approx(151, abs=15)  # README: aorta ≈ 151 HU


def test_real_unenhanced_study():
    v = read_study(example("ct_small.nii.gz"))
    assert detect_phase(v, load_mask(example("ct_small_labels.nii.gz"), v, label=5)).phase == "unenhanced"


@pytest.mark.parametrize("seed", [100, 102, 108])
@pytest.mark.parametrize("phase", ["unenhanced", "arterial", "portal", "delayed"])
def test_phase_of_small_phantoms_without_ribs(phase, seed):
    """3 mm phantoms without ribs (as in the batch tests): vertebral marrow, whose texture a
    z-median image smooths away, must not be taken for an enhanced aorta."""
    ph = make_phantom(phase=phase, seed=seed, spacing=(3.0, 3.0, 3.0), fov_mm=(90.0, 210.0, 270.0), ribs=False)
    assert detect_phase(ph.volume, ph.liver).phase == phase


def test_a_circle_inside_the_vertebral_marrow_is_not_the_aorta():
    """An unenhanced phantom (multi-phase benchmark study 601) where a Hough circle inside the
    marrow (256 HU, its ring 241 HU) passed every other test and made the study arterial."""
    from hepcal.imaging.phantom import ENHANCEMENT_PATTERN, LesionSpec

    specs = [LesionSpec(ENHANCEMENT_PATTERN[c], enhancement=c) for c in ("none", "rim", "septal")]
    ph = make_phantom(phase="unenhanced", lesions=specs, seed=601, noise_seed=10_000 + 6010)
    est = detect_phase(ph.volume, ph.liver)
    assert est.phase == "unenhanced"
    assert est.aorta_hu is None or est.aorta_hu < 100
