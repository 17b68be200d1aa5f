"""The viewer's NIfTI files: the CT in HU, calcium labelled by lesion, a ring outline, geometry in RAS."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

nib = pytest.importorskip("nibabel")

from hepcal.imaging.phantom import LesionSpec, make_phantom  # noqa: E402
from hepcal.imaging.pipeline import scan_volume  # noqa: E402
from hepcal.imaging.viewer_volumes import VIEWER_FILES, lesion_labels, write_viewer_volumes  # noqa: E402


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    ph = make_phantom(lesions=[LesionSpec("rim"), LesionSpec("dense_nodular")], spacing=(3.0, 2.0, 2.0),
                      fov_mm=(120.0, 200.0, 260.0), seed=3)
    res = scan_volume(ph.volume, liver_mask=ph.liver, assess=False)
    assert len(res.lesions) >= 2
    return res


def test_calcium_is_labelled_by_lesion_and_the_outline_rings_the_lesion(result):  # type: ignore[no-untyped-def]
    calcium, outline = lesion_labels(result)
    for les in result.lesions:
        own = np.zeros(result.volume.shape, bool)
        own[les.box] = les.calcium
        assert ((calcium == les.index) == own).all()
        ring = outline == les.index
        assert ring.any()
        whole = np.zeros(result.volume.shape, bool)
        whole[les.box] = les.calcium | les.tissue
        assert not (ring & whole).any(), "the outline lies outside the lesion, so the calcium stays visible"
        # every ring voxel touches the (hole-filled) lesion in its own axial plane
        filled = np.stack([ndi.binary_fill_holes(p) for p in whole])
        near = ndi.binary_dilation(filled, structure=np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], bool))
        assert (ring <= near).all()
        assert set(np.flatnonzero(ring.any(axis=(1, 2)))) == set(np.flatnonzero(whole.any(axis=(1, 2)))), "a ring in every plane of the lesion"


def test_files_keep_hu_geometry_and_the_lesion_index(result, tmp_path):  # type: ignore[no-untyped-def]
    index_path = write_viewer_volumes(result, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(VIEWER_FILES.values())
    ct = nib.load(tmp_path / "ct.nii.gz")
    assert nib.aff2axcodes(ct.affine) == ("L", "P", "S")
    data = np.asanyarray(ct.dataobj)
    assert data.dtype == np.int16 and data.shape == result.volume.shape[::-1]
    p, r, c = 10, 40, 50
    assert data[c, r, p] == int(np.rint(result.volume.array[p, r, c]))
    index = json.loads(index_path.read_text())
    assert [les["id"] for les in index["lesions"]] == [les.index for les in result.lesions]
    calcium = np.asanyarray(nib.load(tmp_path / "calcium.nii.gz").dataobj)
    for entry, les in zip(index["lesions"], result.lesions):
        # the index's voxel and RAS mm are the same point through the file's affine
        ras = ct.affine @ np.array([*entry["voxel"], 1.0])
        assert np.allclose(ras[:3], entry["mm_ras"], atol=0.05)
        lps = np.array(les.centroid_mm)
        assert np.allclose(ras[:3], [-lps[0], -lps[1], lps[2]], atol=0.05)
        assert entry["plane"] == round(les.centroid_voxel[0])
        assert (calcium == les.index).sum() == les.calcium.sum()
