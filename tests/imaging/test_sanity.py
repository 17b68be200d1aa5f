"""The study sanity checks: the data file, the outcome rule and the checks that only warn."""

from __future__ import annotations

import numpy as np
import pytest

from hepcal.imaging.sanity import SanityError, check_liver_mask, check_volume, outcome, sanity_config
from hepcal.imaging.volume import Volume


def test_every_check_has_severity_reason_and_sources():
    cfg = sanity_config()
    assert {"rescale", "geometry", "slice_position", "voxel_size", "hu_fat", "hu_air", "stripe", "liver_tissue", "liver_volume"} <= set(cfg.checks)
    for name, check in cfg.checks.items():
        assert check.severity in ("fail", "warn") and len(check.reason) > 20 and check.refs, name


def test_outcome_raises_for_fail_and_returns_the_warning_shape_otherwise():
    with pytest.raises(SanityError, match="check 'rescale'") as exc:
        outcome("rescale", "study", "no intercept")
    assert exc.value.check == "rescale"
    assert outcome("slice_spacing", "study", "resampled") == {"check": "slice_spacing", "message": "resampled"}


def test_a_clean_phantom_passes_without_warning(lesion_phantom):
    assert check_volume(lesion_phantom.volume) == []
    assert check_liver_mask(lesion_phantom.volume, lesion_phantom.liver, "truth") == []


def test_no_fat_is_a_warning_not_a_refusal(empty_phantom):
    """Without body fat (a cachectic patient) the HU scale cannot be fully verified: analysed, with a warning."""
    arr = np.asarray(empty_phantom.volume.array).copy()
    arr[(arr > -400) & (arr < -30)] = 40
    warnings = check_volume(empty_phantom.volume.with_array(arr))
    assert [w["check"] for w in warnings] == ["hu_unverified"]
    assert "too little fat" in warnings[0]["message"]


def test_a_large_liver_warns_and_a_heterogeneous_one_warns():
    arr = np.full((100, 200, 200), 50, np.int16)  # 2 mm voxels: 32 l of soft tissue
    vol = Volume(arr, np.diag([2.0, 2.0, 2.0, 1.0]))
    mask = np.zeros(arr.shape, bool)
    mask[10:90, 20:120, 20:120] = True  # 6.4 l
    assert [w["check"] for w in check_liver_mask(vol, mask, "test")] == ["liver_volume"]
    small = np.zeros(arr.shape, bool)
    small[10:40, 20:80, 20:80] = True
    arr2 = arr.copy()
    arr2[10:40, 20:50, 20:80] = 150  # half the mask 100 HU brighter
    assert [w["check"] for w in check_liver_mask(vol.with_array(arr2), small, "test")] == ["liver_homogeneity"]


def test_a_mask_over_air_is_refused():
    arr = np.full((50, 100, 100), -1000, np.int16)
    arr[:, 20:80, 20:80] = 50
    vol = Volume(arr, np.diag([3.0, 2.0, 2.0, 1.0]))
    mask = np.zeros(arr.shape, bool)
    mask[10:40, 10:50, 10:50] = True
    with pytest.raises(SanityError, match="liver_tissue"):
        check_liver_mask(vol, mask, "test")


def test_no_bone_is_a_warning(empty_phantom):
    arr = np.minimum(np.asarray(empty_phantom.volume.array), 200)
    warnings = check_volume(empty_phantom.volume.with_array(arr))
    assert [w["check"] for w in warnings] == ["hu_unverified"] and "too little bone" in warnings[0]["message"]
