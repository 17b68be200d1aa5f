"""Reading studies: errors for broken input, and the real JPEG 2000 series in Hounsfield units."""

from __future__ import annotations

import zipfile

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from hepcal.imaging.reading import StudyError, read_study
from tests.imaging.conftest import example


def _slice(path, z, *, series="1.2.3", modality="CT", iop=(1, 0, 0, 0, 1, 0), x=0.0, rows=8, cols=8, value=100, sop_class=CTImageStorage):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.SeriesInstanceUID = series
    ds.StudyInstanceUID = "1.2"
    ds.FrameOfReferenceUID = "1.2.9"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImageOrientationPatient = list(iop)
    ds.ImagePositionPatient = [x, 0.0, float(z)]
    ds.PixelSpacing = [0.8, 0.8]
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.RescaleSlope, ds.RescaleIntercept = 2, -1024
    ds.PixelData = np.full((rows, cols), value, np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _series(folder, zs, **kw):
    folder.mkdir(exist_ok=True)
    for k, z in enumerate(zs):
        _slice(folder / f"s{k}.dcm", z, **kw)
    return folder


def test_dicom_rescale_and_sorting(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    for k, z in enumerate([4.0, 0.0, 2.0]):  # files out of order
        _slice(d / f"s{k}.dcm", z, value=600 + k)
    v = read_study(d)
    assert v.shape == (3, 8, 8)
    # HU = 2 * stored - 1024; planes sorted inferior → superior (z 0, 2, 4)
    assert [int(v.array[p, 0, 0]) for p in range(3)] == [2 * 601 - 1024, 2 * 602 - 1024, 2 * 600 - 1024]
    np.testing.assert_allclose(v.spacing, [2.0, 0.8, 0.8])


def test_zip_of_a_series(tmp_path):
    d = _series(tmp_path / "s", [0, 1, 2])
    z = tmp_path / "s.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in d.iterdir():
            zf.write(f, f.name)
    assert read_study(z).shape == (3, 8, 8)


def test_single_slice_is_refused(tmp_path):
    with pytest.raises(StudyError, match="single slice"):
        read_study(_series(tmp_path / "s", [0]))


def test_missing_slice_is_named(tmp_path):
    with pytest.raises(StudyError, match="missing"):
        read_study(_series(tmp_path / "s", [0, 2, 4, 8, 10]))


def test_gantry_tilt_is_refused(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    for k in range(4):
        _slice(d / f"s{k}.dcm", 2.0 * k, x=0.5 * k)  # sheared stack: ~14° tilt
    with pytest.raises(StudyError, match="tilt"):
        read_study(d)


def test_non_ct_modality_is_refused(tmp_path):
    with pytest.raises(StudyError, match="MR, not CT"):
        read_study(_series(tmp_path / "s", [0, 1, 2], modality="MR", sop_class=MRImageStorage))


def test_several_axial_series_are_listed(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    for k in range(3):
        _slice(d / f"a{k}.dcm", k, series="1.2.3.1")
        _slice(d / f"b{k}.dcm", k, series="1.2.3.2")
    with pytest.raises(StudyError, match="2 axial CT series"):
        read_study(d)
    assert read_study(d, series="1.2.3.2").shape == (3, 8, 8)


def test_folder_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StudyError, match="no DICOM files"):
        read_study(tmp_path)


def test_truncated_pixel_data_names_the_file(tmp_path):
    d = _series(tmp_path / "s", [0, 1, 2])
    f = d / "s1.dcm"
    f.write_bytes(f.read_bytes()[:-60])
    with pytest.raises(StudyError, match="s1.dcm"):
        read_study(d)


def test_nifti_not_in_hounsfield_units(tmp_path):
    p = tmp_path / "mr.nii.gz"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).integers(0, 800, (10, 10, 5)).astype(np.int16), np.eye(4)), p)
    with pytest.raises(StudyError, match="Hounsfield"):
        read_study(p)


def test_unreadable_nifti(tmp_path):
    p = tmp_path / "broken.nii.gz"
    p.write_bytes(b"not a nifti")
    with pytest.raises(StudyError, match="cannot read"):
        read_study(p)


def test_real_jpeg2000_series_in_hounsfield_units():
    v = read_study(example("ct_dicom"))
    assert v.shape == (20, 512, 512)
    assert v.metadata["modality"] == "CT"
    np.testing.assert_allclose(v.spacing, [2.0, 0.9765625, 0.9765625])
    assert v.array.min() == -1024  # RescaleIntercept -1024 applied
    ds = pydicom.dcmread(next(example("ct_dicom").iterdir()))
    assert ds.file_meta.TransferSyntaxUID.name.startswith("JPEG 2000")
