"""A volume written as a CT series reads back with the same voxels and geometry."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from hepcal.errors import InputError
from hepcal.imaging.dicom_series import SeriesIdentity, write_ct_series
from hepcal.imaging.reading import read_study
from hepcal.imaging.volume import Volume


def _volume() -> Volume:
    rng = np.random.default_rng(0)
    arr = rng.integers(-1000, 1500, size=(5, 6, 7)).astype(np.int16)
    affine = np.array([[0, 0, 0.8, -100.0], [0, 0.7, 0, -50.0], [2.5, 0, 0, 30.0], [0, 0, 0, 1]])
    return Volume(arr, affine)


def test_round_trip_keeps_voxels_and_affine(tmp_path):
    v = _volume()
    paths = write_ct_series(v, tmp_path)
    assert len(paths) == 5
    back = read_study(tmp_path)
    np.testing.assert_array_equal(back.array, v.array)
    np.testing.assert_allclose(back.affine, v.affine, atol=1e-6)


def test_headers_describe_the_geometry(tmp_path):
    v = _volume()
    paths = write_ct_series(v, tmp_path, identity=SeriesIdentity(patient_id="P1"))
    ds = pydicom.dcmread(paths[1])
    assert ds.Modality == "CT" and ds.PatientID == "P1"
    assert [float(x) for x in ds.PixelSpacing] == [0.7, 0.8]
    assert float(ds.SliceThickness) == 2.5
    assert [float(x) for x in ds.ImagePositionPatient] == [-100.0, -50.0, 32.5]
    assert [float(x) for x in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]


def test_same_seed_same_uids(tmp_path):
    a = pydicom.dcmread(write_ct_series(_volume(), tmp_path / "a", seed="s")[0])
    b = pydicom.dcmread(write_ct_series(_volume(), tmp_path / "b", seed="s")[0])
    assert a.SeriesInstanceUID == b.SeriesInstanceUID and a.SOPInstanceUID == b.SOPInstanceUID


def test_values_beyond_int16_are_refused(tmp_path):
    v = Volume(np.full((2, 2, 2), 40000.0), np.eye(4))
    with pytest.raises(InputError, match="16-bit"):
        write_ct_series(v, tmp_path)
