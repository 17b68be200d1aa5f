"""Write a :class:`Volume` as an uncompressed CT series, one file per plane.

Made for phantoms and tests: a DICOM study is what the reports' DICOM SR (and the SEG) refer
to, so the CT side must be able to produce one. Geometry is exact: ``ImagePositionPatient`` is
the LPS position of each plane's first voxel, ``ImageOrientationPatient`` the directions of the
column and row axes, ``PixelSpacing`` (row, column) and ``SliceThickness`` the voxel size, and
HU are stored as signed 16-bit values with slope 1 and intercept 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

from hepcal import __version__
from hepcal.errors import InputError
from hepcal.imaging.volume import Volume

__all__ = ["SeriesIdentity", "write_ct_series"]


@dataclass(frozen=True)
class SeriesIdentity:
    """Who and what the series is about. Defaults describe an anonymous phantom."""

    patient_name: str = "PHANTOM^HEPCAL"
    patient_id: str = "PHANTOM"
    patient_birth_date: str = ""
    patient_sex: str = "O"
    study_description: str = "hepcal phantom"
    series_description: str = "hepcal phantom CT"
    accession_number: str = ""
    study_id: str = "1"
    series_number: int = 1


def _ds(x: float) -> str:
    """A decimal string DICOM accepts (at most 16 characters)."""
    return f"{x:.8g}"[:16]


def write_ct_series(
    volume: Volume,
    folder: str | Path,
    *,
    identity: SeriesIdentity = SeriesIdentity(),
    seed: str = "hepcal-phantom",
    when: datetime | None = None,
) -> list[Path]:
    """Write ``volume`` (HU) as one CT file per plane into ``folder``; returns the file paths.

    ``seed`` makes the study, series and instance UIDs reproducible (same seed → same UIDs);
    ``when`` is the study date (default now, UTC).
    """
    hu = np.asarray(volume.array)
    if hu.min() < -32768 or hu.max() > 32767:
        raise InputError("HU values outside the signed 16-bit range cannot be written as CT")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    a = volume.affine
    spacing = volume.spacing
    row_dir = a[:3, 2] / spacing[2]  # direction in which a row runs: increasing column index
    col_dir = a[:3, 1] / spacing[1]  # direction in which a column runs: increasing row index
    stamp = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    study_uid = generate_uid(entropy_srcs=[seed, "study"])
    series_uid = generate_uid(entropy_srcs=[seed, "series", str(identity.series_number)])
    frame_uid = generate_uid(entropy_srcs=[seed, "frame"])
    pixels = np.rint(hu).astype(np.int16)
    paths: list[Path] = []
    for p in range(hu.shape[0]):
        position = volume.index_to_lps((p, 0, 0))
        ds = _slice(identity, stamp, study_uid, series_uid, frame_uid,
                    generate_uid(entropy_srcs=[seed, "instance", str(identity.series_number), str(p)]))
        ds.InstanceNumber = p + 1
        ds.ImagePositionPatient = [_ds(float(x)) for x in position]
        ds.ImageOrientationPatient = [_ds(float(x)) for x in (*row_dir, *col_dir)]
        ds.PixelSpacing = [_ds(float(spacing[1])), _ds(float(spacing[2]))]
        ds.SliceThickness = _ds(float(spacing[0]))
        ds.SliceLocation = _ds(float(position[2]))
        ds.Rows, ds.Columns = int(hu.shape[1]), int(hu.shape[2])
        ds.PixelData = np.ascontiguousarray(pixels[p]).tobytes()
        path = out / f"ct{p + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _slice(identity: SeriesIdentity, stamp: datetime, study_uid: str, series_uid: str, frame_uid: str, sop_uid: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Manufacturer = "hepcal"
    ds.ManufacturerModelName = "phantom"
    ds.SoftwareVersions = __version__
    ds.PatientName = identity.patient_name
    ds.PatientID = identity.patient_id
    ds.PatientBirthDate = identity.patient_birth_date
    ds.PatientSex = identity.patient_sex
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.StudyID = identity.study_id
    ds.SeriesNumber = identity.series_number
    ds.AccessionNumber = identity.accession_number
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = identity.study_description
    ds.SeriesDescription = identity.series_description
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = stamp.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = stamp.strftime("%H%M%S")
    ds.KVP = "120"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    return ds

