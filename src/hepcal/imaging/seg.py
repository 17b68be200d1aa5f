"""A DICOM SEG of the calcifications for DICOM input (highdicom), referencing the source series."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from hepcal import __version__
from hepcal.errors import HepcalError
from hepcal.imaging.characterisation import Lesion
from hepcal.imaging.volume import Volume

__all__ = ["SegWriteError", "write_seg"]

_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


class SegWriteError(HepcalError):
    """The DICOM SEG could not be written (the findings are still valid)."""


def _complete(headers: tuple[Any, ...]) -> tuple[list[Any], list[str]]:
    """Copies of the source headers with the identifiers a SEG must reference filled in.

    The example series has empty SOPClassUID, StudyInstanceUID and SeriesInstanceUID; a SEG
    cannot reference such images, so missing ones are taken from the file meta or generated
    (and reported).
    """
    from pydicom.uid import generate_uid

    fixed: list[str] = []
    study = next((str(h.StudyInstanceUID) for h in headers if str(h.get("StudyInstanceUID", "") or "")), None) or generate_uid()
    series = next((str(h.SeriesInstanceUID) for h in headers if str(h.get("SeriesInstanceUID", "") or "")), None) or generate_uid()
    out = []
    for h in headers:
        d = copy.deepcopy(h)
        if not str(d.get("SOPClassUID", "") or ""):
            d.SOPClassUID = str(getattr(d.file_meta, "MediaStorageSOPClassUID", "") or _CT_IMAGE_STORAGE)
            fixed.append("SOPClassUID")
        if not str(d.get("SOPInstanceUID", "") or ""):
            d.SOPInstanceUID = str(getattr(d.file_meta, "MediaStorageSOPInstanceUID", "") or generate_uid())
            fixed.append("SOPInstanceUID")
        if not str(d.get("StudyInstanceUID", "") or ""):
            d.StudyInstanceUID = study
            fixed.append("StudyInstanceUID")
        if not str(d.get("SeriesInstanceUID", "") or ""):
            d.SeriesInstanceUID = series
            fixed.append("SeriesInstanceUID")
        for key, default in (("PatientID", ""), ("PatientName", ""), ("PatientBirthDate", ""), ("PatientSex", ""), ("StudyID", ""), ("AccessionNumber", ""), ("StudyDate", ""), ("StudyTime", ""), ("ReferringPhysicianName", "")):
            if key not in d:
                setattr(d, key, default)
        out.append(d)
    return out, sorted(set(fixed))


def _code(hd: Any, concept: str) -> Any:
    """A coded concept of the SEG from ``report/codes.yaml``: one code per concept for SEG, SR and FHIR."""
    from hepcal.report.codes import codes

    entry = codes()["seg"][concept]
    return hd.sr.CodedConcept(value=entry["code"], scheme_designator=codes()["dicom_schemes"][entry["scheme"]], meaning=entry["display"])


def write_seg(volume: Volume, lesions: list[Lesion], path: str | Path) -> tuple[Path, list[str]]:
    """Write one binary segment per lesion's calcium; returns (path, identifiers filled in)."""
    import highdicom as hd

    headers = volume.metadata.get("dicom_headers")
    if not headers:
        raise SegWriteError("a DICOM SEG needs DICOM input")
    if not lesions:
        raise SegWriteError("no calcification to segment")
    sources, fixed = _complete(tuple(headers))
    # A label map (segment k = lesion k) rather than a one-hot stack: the lesions' calcium never
    # overlaps (each focus belongs to one lesion), highdicom turns a label map into the same
    # BINARY segments, and the memory is one small integer array instead of lesions x volume.
    dtype = np.uint8 if len(lesions) < 256 else np.uint16
    labels = np.zeros(volume.shape, dtype=dtype)
    for k, les in enumerate(lesions, start=1):
        labels[les.box][les.calcium] = k
    algo = hd.AlgorithmIdentificationSequence(name="hepcal", version=__version__, family=_code(hd, "algorithm_family"))
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=k + 1,
            segment_label=f"lesion {les.index}: {les.pattern_label} calcification"[:64],  # LO: at most 64 characters
            segmented_property_category=_code(hd, "category"),
            segmented_property_type=_code(hd, "type"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algo,
        )
        for k, les in enumerate(lesions)
    ]
    vol = hd.Volume(labels, volume.affine, coordinate_system="PATIENT")
    try:
        seg = hd.seg.Segmentation(
            source_images=sources,
            pixel_array=vol,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions,
            series_instance_uid=hd.UID(),
            series_number=901,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="hepcal",
            manufacturer_model_name="hepcal CT pipeline",
            software_versions=__version__,
            device_serial_number="0",
            series_description="hepcal calcifications (proposed; clinician to confirm)",
        )
    except Exception as exc:  # highdicom validates strictly; the findings stand without the SEG
        raise SegWriteError(f"DICOM SEG not written: {exc}") from None
    out = Path(path)
    seg.save_as(out)
    return out, fixed
