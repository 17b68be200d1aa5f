"""DICOM SR of a scan: a Comprehensive 3D SR measurement report (TID 1500, highdicom).

One measurement group per lesion (TID 1411, volumetric ROI) with the calcification as finding
type, the liver as finding site, the pattern(s) and the leading diagnosis as qualitative
evaluations, and volume (mm³) and maximum attenuation (HU) as measurements. The group points to
the lesion's segment of the calcification SEG when the scan wrote one; without a SEG it points
to the lesion's centroid in the CT's frame of reference (a 3-D point), and the source CT series
is always in the evidence. Patient and study attributes are copied from the CT by highdicom.

A liver group (TID 1501) carries the liver volume when the scan measured it; a study without a
calcification is reported by that group alone, with "pathologic calcification: absent" as its
qualitative evaluation, so the commonest study still gets an SR (TID 1500 needs at least one
measurement group).
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
    """The calcification SEG of the scan: the file findings.json names, else a SEG of that series.

    A series without a SeriesInstanceUID (``series_uid`` empty) only matches the SEG that
    findings.json names: the scan wrote it for that series with a generated UID.
    """
    candidates: list[Path] = []
    if source.seg is not None and source.seg.is_file():
        candidates.append(source.seg)
    for folder in (source.seg.parent if source.seg else None, source.study):
        if folder is not None and folder.is_dir():
            candidates += sorted(folder.rglob("*.dcm"))
    for path in candidates:
        try:  # headers only while looking: a CT slice's pixels are never decoded here
            head = pydicom.dcmread(path, stop_before_pixels=True)
        except (pydicom.errors.InvalidDicomError, OSError):
            continue
        if getattr(head, "Modality", "") != "SEG":
            continue
        refs = {str(r.SeriesInstanceUID) for r in getattr(head, "ReferencedSeriesSequence", [])}
        if not refs or series_uid in refs or (not series_uid and path == source.seg):
            return pydicom.dcmread(path)
    return None


CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def complete_identifiers(series: list[Dataset], seg: Dataset | None) -> list[Dataset]:
    """Copies of the CT headers with the identifiers an SR must reference filled in.

    Some exported series leave SOPClassUID, SOPInstanceUID, StudyInstanceUID or
    SeriesInstanceUID empty; highdicom then cannot copy the patient and study modules. Empty
    ones are taken from the file meta, from the SEG the scan wrote for this series (so SR and
    SEG name the same study and series), or derived from the frame of reference (stable).
    """
    import copy

    seed = str(series[0].get("FrameOfReferenceUID", "") or "") if series else ""
    study = str(seg.StudyInstanceUID) if seg is not None else generate_uid(entropy_srcs=[seed, "study"])
    refs = list(getattr(seg, "ReferencedSeriesSequence", [])) if seg is not None else []
    series_uid = str(refs[0].SeriesInstanceUID) if refs else generate_uid(entropy_srcs=[seed, "series"])
    out = []
    for k, ds in enumerate(series):
        d = copy.deepcopy(ds)
        meta = getattr(d, "file_meta", None)
        filled = {
            "SOPClassUID": str(getattr(meta, "MediaStorageSOPClassUID", "") or CT_IMAGE_STORAGE),
            "SOPInstanceUID": str(getattr(meta, "MediaStorageSOPInstanceUID", "") or generate_uid(entropy_srcs=[seed, str(k)])),
            "StudyInstanceUID": study,
            "SeriesInstanceUID": series_uid,
        }
        for key, value in filled.items():
            if not str(d.get(key, "") or ""):
                setattr(d, key, value)
        out.append(d)
    return out


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


def liver_volume_ml(source: ReportSource) -> float | None:
    """The liver volume the scan measured (findings.json ``liver.volume_ml``), if any."""
    liver = source.scan.get("liver")
    value = liver.get("volume_ml") if isinstance(liver, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def _liver_group(source: ReportSource, seed: str) -> Any | None:
    """The liver's own group: its volume, and "calcification absent" when no lesion was found."""
    from highdicom.sr import Measurement, MeasurementsAndQualitativeEvaluations, QualitativeEvaluation, TrackingIdentifier

    c = codes()["sr"]
    volume = liver_volume_ml(source)
    measurements = [Measurement(name=concept(c["volume"]), value=volume, unit=concept(c["unit_ml"]))] if volume else []
    evaluations = [] if source.lesions else [QualitativeEvaluation(name=concept(c["finding"]), value=concept(c["absent"]))]
    if not measurements and not evaluations:
        return None
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=generate_uid(entropy_srcs=[seed, "liver"]), identifier="Liver"),
        finding_type=concept(c["finding_site"]),
        measurements=measurements or None,
        qualitative_evaluations=evaluations or None,
    )


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
    seg = find_seg(source, str(series[0].get("SeriesInstanceUID", "") or ""))
    series = complete_identifiers(series, seg)
    ref = series[0]
    series_uid = str(ref.SeriesInstanceUID)
    seed = f"{ref.StudyInstanceUID}|{series_uid}|{now.isoformat() if now else ''}|{source.knowledge_base.get('version', '')}"
    device = ObserverContext(
        observer_type=dcm.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=["hepcal", __version__]), name="hepcal", manufacturer_name="hepcal",
            model_name=f"hepcal {__version__} (knowledge base {source.knowledge_base.get('version', '')})"[:64]),
    )
    groups = [_group(les, seg, len(source.lesions), str(ref.FrameOfReferenceUID), series_uid, seed) for les in source.lesions]
    liver = _liver_group(source, seed)
    if liver is not None:
        groups.append(liver)
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=device),
        procedure_reported=concept(codes()["sr"]["procedure"]),
        imaging_measurements=groups,
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
