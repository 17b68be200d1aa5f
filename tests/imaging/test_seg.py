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
