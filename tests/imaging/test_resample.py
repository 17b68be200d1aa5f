"""One physical space for image and mask: the flipped label map of the example lines up."""

import nibabel as nib
import numpy as np
import pytest

from hepcal.imaging.liver import dice, load_mask
from hepcal.imaging.reading import read_study
from hepcal.imaging.resample import MaskGeometryError, resample_labels
from hepcal.imaging.volume import Volume, ras_to_lps
from tests.imaging.conftest import example


def test_flipped_label_map_lines_up_with_the_dicom_series():
    v = read_study(example("ct_dicom"))
    liver = load_mask(example("ct_dicom_labels.nii.gz"), v, label=5)
    assert int(liver.sum()) == 366_708
    # README facts: 2,815 liver voxels above 130 HU, none above 200, median 93 HU
    assert int((v.array[liver] > 130).sum()) == 2815
    assert int((v.array[liver] > 200).sum()) == 0
    assert float(np.median(v.array[liver])) == pytest.approx(93, abs=1)
    # naive stacking (no physical space) puts the liver elsewhere
    naive = np.transpose(np.asarray(nib.load(example("ct_dicom_labels.nii.gz")).dataobj), (2, 1, 0)) == 5
    assert dice(naive, liver) < 0.8


def test_general_path_matches_the_exact_path():
    img = Volume(np.zeros((6, 7, 8), np.int16), np.diag([2.0, 1.0, 1.0, 1.0]))
    labels = np.zeros((6, 7, 8), np.uint8)
    labels[2:4, 1:5, 3:6] = 1
    rot = np.diag([2.0, 1.0, 1.0, 1.0])
    rot[:3, 3] = 1e-4  # tiny offset: not exact, goes through affine_transform
    a = resample_labels(labels, img.affine, img)
    b = resample_labels(labels, rot, img)
    assert np.array_equal(a, labels) and np.array_equal(b, labels)


def test_mask_elsewhere_is_refused():
    img = Volume(np.zeros((4, 4, 4), np.int16), np.eye(4))
    far = np.eye(4)
    far[:3, 3] = 500
    with pytest.raises(MaskGeometryError, match="no labelled voxel falls inside"):
        resample_labels(np.ones((4, 4, 4), np.uint8), far, img)


def test_empty_mask_is_refused(tmp_path):
    img = Volume(np.zeros((4, 4, 4), np.int16), np.eye(4))
    p = tmp_path / "m.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.uint8), ras_to_lps(img.affine)), p)
    with pytest.raises(Exception, match="empty"):
        load_mask(p, img)


def test_multilabel_map_needs_a_label(tmp_path):
    img = Volume(np.zeros((4, 4, 4), np.int16), np.eye(4))
    lab = np.zeros((4, 4, 4), np.uint8)
    lab[0], lab[1] = 5, 6
    p = tmp_path / "m.nii.gz"
    nib.save(nib.Nifti1Image(lab, ras_to_lps(img.affine)), p)
    with pytest.raises(Exception, match="--liver-label"):
        load_mask(p, img)
    assert load_mask(p, img, label=5).sum() == 16
