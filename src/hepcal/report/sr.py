"""DICOM SR of a scan: a Comprehensive 3D SR measurement report (TID 1500, highdicom).

One measurement group per lesion (TID 1411, volumetric ROI) with the calcification as finding
type, the liver as finding site, the pattern(s) and the leading diagnosis as qualitative
evaluations, and volume (mm³) and maximum attenuation (HU) as measurements. The group points to
the lesion's segment of the calcification SEG when the scan wrote one; without a SEG it points
to the lesion's centroid in the CT's frame of reference (a 3-D point), and the source CT series
is always in the evidence. Patient and study attributes are copied from the CT by highdicom.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from hepcal import __version__
from hepcal.report.codes import codes
from hepcal.report.source import Lesion, ReportSource

SR_SERIES_NUMBER = 900


def concept(entry: dict[str, str]) -> Any:
    """A highdicom CodedConcept from a codes.yaml entry."""
    from highdicom.sr import CodedConcept

    scheme = codes()["dicom_schemes"][entry["scheme"]]
    return CodedConcept(value=entry["code"], scheme_designator=scheme, meaning=entry["display"][:64])


def _local(code: str, meaning: str) -> Any:
    return concept({"scheme": "HEPCAL", "code": code[:16], "display": meaning})


def _read_headers(folder: Path) -> list[Dataset]:
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            out.append(pydicom.dcmread(path, stop_before_pixels=True))
        except (pydicom.errors.InvalidDicomError, OSError):
            continue
    return out


def source_series(source: ReportSource) -> list[Dataset]:
    """Headers of the CT series the scan read (the series named in findings.json, else the largest)."""
    assert source.study is not None
    cts = [ds for ds in _read_headers(source.study) if getattr(ds, "Modality", "") == "CT"]
    wanted = source.scan.get("series_instance_uid") or source.scan.get("series_uid")
    groups: dict[str, list[Dataset]] = {}
    for ds in cts:
        groups.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
    if not groups:
        return []
    if wanted and str(wanted) in groups:
        return groups[str(wanted)]
    return max(groups.values(), key=len)


def find_seg(source: ReportSource, series_uid: str) -> Dataset | None:
    """The calcification SEG of the scan: the file findings.json names, else a SEG of that series."""
    candidates: list[Path] = []
    if source.seg is not None and source.seg.is_file():
        candidates.append(source.seg)
    for folder in (source.seg.parent if source.seg else None, source.study):
        if folder is not None and folder.is_dir():
            candidates += sorted(folder.rglob("*.dcm"))
    for path in candidates:
        try:
            ds = pydicom.dcmread(path)
        except (pydicom.errors.InvalidDicomError, OSError):
            continue
        if getattr(ds, "Modality", "") != "SEG":
            continue
        refs = {str(r.SeriesInstanceUID) for r in getattr(ds, "ReferencedSeriesSequence", [])}
        if not refs or series_uid in refs:
            return ds
    return None


def _segment_number(lesion: Lesion, seg: Dataset | None, n_lesions: int) -> int | None:
    if seg is None:
        return None
    numbers = [int(s.SegmentNumber) for s in seg.SegmentSequence]
    if lesion.segment_number in numbers:
        return lesion.segment_number
    if len(numbers) == n_lesions and lesion.number in numbers:
        return lesion.number
    return numbers[0] if len(numbers) == 1 else None


def _group(lesion: Lesion, seg: Dataset | None, n_lesions: int, frame_uid: str, series_uid: str, seed: str) -> Any:
    from highdicom.sr import (
        FindingSite,
        Measurement,
        MeasurementsAndQualitativeEvaluations,
        QualitativeEvaluation,
        ReferencedSegment,
        SourceSeriesForSegmentation,
        TrackingIdentifier,
        VolumeSurface,
        VolumetricROIMeasurementsAndQualitativeEvaluations,
    )

    c = codes()["sr"]
    measurements = []
    if lesion.volume_mm3 is not None:
        measurements.append(Measurement(name=concept(c["volume"]), value=float(lesion.volume_mm3), unit=concept(c["unit_mm3"])))
    if lesion.max_hu is not None:
        measurements.append(Measurement(name=concept(c["attenuation"]), value=float(lesion.max_hu), unit=concept(c["unit_hu"]),
                                        derivation=concept(c["maximum"])))
    patterns = codes()["patterns"]
    evaluations = []
    for p in lesion.case.get("finding", {}).get("calcification", []):
        value = concept(patterns[p]) if p in patterns else _local(p, p.replace("_", " "))
        evaluations.append(QualitativeEvaluation(name=concept(c["pattern_concept"]), value=value))
    lead = lesion.assessment["differential"][0]
    dx = codes()["diagnoses"].get(lead["id"])
    evaluations.append(QualitativeEvaluation(name=concept(c["leading_diagnosis_concept"]),
                                             value=concept(dx) if dx else _local(lead["id"], lead["name"])))
    common = dict(
        tracking_identifier=TrackingIdentifier(uid=generate_uid(entropy_srcs=[seed, "lesion", str(lesion.number)]),
                                               identifier=f"Lesion {lesion.number}"),
        finding_type=concept(c["finding"]),
        finding_sites=[FindingSite(anatomic_location=concept(c["finding_site"]))],
        measurements=measurements or None,
        qualitative_evaluations=evaluations,
    )
    number = _segment_number(lesion, seg, n_lesions)
    if seg is not None and number is not None:
        try:  # with frame numbers and source images
            ref = ReferencedSegment.from_segmentation(seg, number)
        except AttributeError:  # highdicom 0.28 cannot read a one-segment SEG's shared segment id
            ref = ReferencedSegment(sop_class_uid=seg.SOPClassUID, sop_instance_uid=seg.SOPInstanceUID,
                                    segment_number=number, source_series=SourceSeriesForSegmentation(series_uid))
        return VolumetricROIMeasurementsAndQualitativeEvaluations(referenced_segment=ref, **common)
    if lesion.centroid_mm is not None:
        surface = VolumeSurface(graphic_type="POINT", graphic_data=np.array([lesion.centroid_mm], dtype=float),
                                frame_of_reference_uid=frame_uid, source_series=SourceSeriesForSegmentation(series_uid))
        return VolumetricROIMeasurementsAndQualitativeEvaluations(referenced_volume_surface=surface, **common)
    return MeasurementsAndQualitativeEvaluations(**common)


def build_sr(source: ReportSource, *, now: datetime | None = None) -> Dataset | None:
    """The SR dataset of a scan of a DICOM study (None when the study holds no CT series)."""
    from highdicom.sr import (
        Comprehensive3DSR,
        DeviceObserverIdentifyingAttributes,
        MeasurementReport,
        ObservationContext,
        ObserverContext,
    )
    from pydicom.sr.codedict import codes as dcm

    if source.study is None or not source.study.is_dir():
        return None
    series = source_series(source)
    if not series:
        return None
    ref = series[0]
    series_uid = str(ref.SeriesInstanceUID)
    seg = find_seg(source, series_uid)
    seed = f"{ref.StudyInstanceUID}|{series_uid}|{now.isoformat() if now else ''}|{source.knowledge_base.get('version', '')}"
    device = ObserverContext(
        observer_type=dcm.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=["hepcal", __version__]), name="hepcal", manufacturer_name="hepcal",
            model_name=f"hepcal {__version__} (knowledge base {source.knowledge_base.get('version', '')})"[:64]),
    )
    groups = [_group(les, seg, len(source.lesions), str(ref.FrameOfReferenceUID), series_uid, seed) for les in source.lesions]
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=device),
        procedure_reported=concept(codes()["sr"]["procedure"]),
        imaging_measurements=groups or None,
    )
    evidence = list(series) + ([seg] if seg is not None else [])
    sr = Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=generate_uid(entropy_srcs=[seed, "sr-series"]),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=generate_uid(entropy_srcs=[seed, "sr-instance"]),
        instance_number=1,
        manufacturer="hepcal",
        is_complete=True,
        is_final=False,
        is_verified=False,
    )
    if now is not None:
        sr.ContentDate = now.strftime("%Y%m%d")
        sr.ContentTime = now.strftime("%H%M%S")
    sr.SeriesDescription = f"hepcal {__version__} decision support (KB {source.knowledge_base.get('version', '')})"[:64]
    sr.SoftwareVersions = __version__
    return sr


def write_sr(source: ReportSource, path: str | Path, *, now: datetime | None = None) -> Path | None:
    """Write ``sr.dcm``; returns its path, or None when the scan has no DICOM CT to refer to."""
    sr = build_sr(source, now=now)
    if sr is None:
        return None
    out = Path(path)
    sr.save_as(out, enforce_file_format=True)
    return out
