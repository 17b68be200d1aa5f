"""A DICOM SEG of inserted calcifications in the real series, read back with highdicom."""

import highdicom as hd
import numpy as np

from hepcal.imaging.insertion import insert_lesions
from hepcal.imaging.liver import load_mask
from hepcal.imaging.phantom import LesionSpec
from hepcal.imaging.pipeline import scan_volume
from hepcal.imaging.reading import read_study
from hepcal.imaging.seg import write_seg
from tests.imaging.conftest import example


def test_seg_lines_up_with_the_series(tmp_path):
    v = read_study(example("ct_dicom"))
    liver = load_mask(example("ct_dicom_labels.nii.gz"), v, label=5)
    v2, calcium, _ = insert_lesions(v, liver, [LesionSpec("dense_nodular", 10)], phase="portal", seed=1)
    res = scan_volume(v2, liver_mask=liver, assess=False)
    path, fixed = write_seg(v2, res.lesions, tmp_path / "seg.dcm")
    assert "SeriesInstanceUID" in fixed  # the example series has none
    seg = hd.seg.segread(path)
    back = seg.get_volume(combine_segments=True)
    # the SEG's voxels are at the calcium's positions in patient space
    pts = np.argwhere(back.array > 0)
    lps = pts @ back.affine[:3, :3].T + back.affine[:3, 3]
    idx = np.round(v.lps_to_index(lps)).astype(int)
    assert calcium[tuple(idx.T)].mean() > 0.8


def test_seg_codes_are_the_project_codes(tmp_path):
    """One code per concept: the SEG's calcification is the SR's and FHIR's (codes.yaml)."""
    from hepcal.report.codes import codes

    v = read_study(example("ct_dicom"))
    liver = load_mask(example("ct_dicom_labels.nii.gz"), v, label=5)
    v2, _, _ = insert_lesions(v, liver, [LesionSpec("dense_nodular", 10), LesionSpec("coarse", 12)], phase="portal", seed=2)
    res = scan_volume(v2, liver_mask=liver, assess=False)
    path, _ = write_seg(v2, res.lesions, tmp_path / "seg.dcm")
    seg = hd.seg.segread(path)
    assert seg.number_of_segments == len(res.lesions) >= 1
    for desc in seg.SegmentSequence:
        assert desc.SegmentedPropertyTypeCodeSequence[0].CodeValue == codes()["calcification"][0]["code"] == codes()["seg"]["type"]["code"]
        assert desc.SegmentAlgorithmName == "hepcal"
        family = desc.SegmentationAlgorithmIdentificationSequence[0].AlgorithmFamilyCodeSequence[0]
        assert family.CodeValue == "123104"  # Morphological Operations, not Artificial Intelligence
    # each lesion's calcium is its own segment, voxel for voxel
    back = seg.get_volume(combine_segments=True)
    assert sorted(int(k) for k in np.unique(back.array) if k) == list(range(1, len(res.lesions) + 1))
