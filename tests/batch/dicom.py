"""Tiny DICOM series for discovery tests (headers matter here, pixels barely)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"


def write_series(folder: Path, *, modality: str = "CT", slices: int = 3, uid: str | None = None, size: int = 8) -> str:
    """Write ``slices`` single-frame images of one series into ``folder``; returns its UID."""
    folder.mkdir(parents=True, exist_ok=True)
    uid = uid if uid is not None else generate_uid()
    study = generate_uid()
    for i in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE if modality == "CT" else MR_IMAGE
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = modality
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = uid
        ds.SeriesNumber = 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0, 0, float(i)]
        ds.PixelSpacing = [1, 1]
        ds.SliceThickness = 1
        ds.Rows = ds.Columns = size
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.PixelData = np.full((size, size), -1000, np.int16).tobytes()
        ds.save_as(folder / f"{modality.lower()}{i:03d}.dcm", enforce_file_format=True)
    return uid
