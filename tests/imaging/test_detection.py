"""Detection: thresholds by phase, no false positives on the real studies, mimics named."""

from __future__ import annotations

import numpy as np
import pytest

from hepcal.errors import InputError
from hepcal.imaging.characterisation import characterise
from hepcal.imaging.detection import detect_calcifications, phase_threshold
from hepcal.imaging.liver import load_mask, segment_liver
from hepcal.imaging.reading import read_study
from hepcal.imaging.shapes import Layer, capsule, paint
from tests.imaging.conftest import example


def test_thresholds_carry_their_sources():
    t = phase_threshold("unenhanced")
    assert (t.candidate_hu, t.definite_hu) == (130, 200) and t.refs == ("R69", "R4")
    assert phase_threshold("portal").candidate_hu == 300
    assert phase_threshold("arterial", blood_pool_hu=380).candidate_hu == 480  # raised above the blood pool
    with pytest.raises(InputError, match="allowed"):
        phase_threshold("venous")


@pytest.mark.parametrize("use_builtin", [False, True])
def test_real_portal_study_has_no_calcification(use_builtin):
    """2,815 enhancing liver voxels above 130 HU and no calcification: nothing must be reported."""
    v = read_study(example("ct_dicom"))
    liver = segment_liver(v).mask if use_builtin else load_mask(example("ct_dicom_labels.nii.gz"), v, label=5)
    for phase in ("portal", "unenhanced"):  # even the unenhanced threshold finds nothing: ribs are excluded
        det = detect_calcifications(v, liver, threshold=phase_threshold(phase))
        assert det.foci == [], [e for e in det.excluded][:3]


def test_real_unenhanced_study_has_no_calcification():
    v = read_study(example("ct_small.nii.gz"))
    for liver in (load_mask(example("ct_small_labels.nii.gz"), v, label=5), segment_liver(v).mask):
        assert detect_calcifications(v, liver, threshold=phase_threshold("unenhanced")).foci == []


def test_ribs_of_the_phantom_are_excluded(empty_phantom):
    det = detect_calcifications(empty_phantom.volume, empty_phantom.liver, threshold=phase_threshold("unenhanced"))
    assert det.foci == []
    assert any("liver" in e["reason"] for e in det.excluded)


def test_metal_clip_is_named_as_a_mimic(empty_phantom):
    v = empty_phantom.volume
    arr = v.array.copy()
    centre = v.index_to_lps(np.argwhere(empty_phantom.liver).mean(0))
    paint(arr, v.affine, [Layer(capsule(tuple(centre - [4, 0, 0]), tuple(centre + [4, 0, 0]), 1.5), 3000.0, True, 8, tuple(centre))])
    clip = v.with_array(arr)
    det = detect_calcifications(clip, empty_phantom.liver, threshold=phase_threshold("unenhanced"))
    (lesion,) = characterise(clip, empty_phantom.liver, det)
    assert lesion.finding["metallic_artifact"] is True
    assert lesion.mimics and lesion.mimics[0].startswith("metal")


def test_lipiodol_range_density_is_flagged(lesion_phantom):
    det = detect_calcifications(lesion_phantom.volume, lesion_phantom.liver, threshold=phase_threshold("unenhanced"))
    lesions = characterise(lesion_phantom.volume, lesion_phantom.liver, det)
    assert any("lipiodol" in m for les in lesions for m in les.mimics)
