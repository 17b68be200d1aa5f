"""DICOM SR: a Comprehensive 3D SR measurement report that reads back with highdicom."""

from __future__ import annotations

import highdicom as hd
import pydicom
import pytest

from hepcal.report.source import from_findings
from hepcal.report.sr import build_sr
from tests.report import scan_study
from tests.report.conftest import NOW


@pytest.fixture(scope="module")
def sr(scan_reports):
    return hd.sr.srread(scan_reports["sr.dcm"])


@pytest.fixture(scope="module")
def seg(scan_findings):
    return pydicom.dcmread(scan_findings.parent / "calcifications.seg.dcm")


def test_sr_is_a_comprehensive_3d_measurement_report(sr):
    assert sr.SOPClassUID == pydicom.uid.Comprehensive3DSRStorage
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert sr.Modality == "SR"
    assert "KB" in sr.SeriesDescription and sr.ContentDate == "20260314"


def test_one_group_per_lesion_with_volume_max_hu_and_pattern(sr, scan_findings, kb):
    src = from_findings(scan_findings, kb)
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert len(groups) == len(src.lesions) == 2
    for group, lesion in zip(groups, src.lesions):
        values = {m.name.value: m for m in group.get_measurements()}
        assert values["118565006"].value == pytest.approx(lesion.volume_mm3)
        assert values["118565006"].unit.value == "mm3"
        assert values["112031"].value == pytest.approx(lesion.max_hu)
        assert values["112031"].unit.value == "[hnsf'U]"
        evaluations = {q.name.value: q.value for q in group.get_qualitative_evaluations()}
        assert "calc-pattern" in evaluations
        assert group.finding_type.value == "18115005"
        assert group.finding_sites[0].value.value == "10200004"


def test_groups_reference_the_seg_segments_and_evidence_holds_the_ct_series(sr, seg):
    groups = sr.content.get_volumetric_roi_measurement_groups()
    for number, group in enumerate(groups, start=1):
        ref = group.referenced_segment
        assert ref.referenced_sop_instance_uid == seg.SOPInstanceUID
        assert ref.referenced_segment_numbers == [number]
    evidence = {item.SeriesInstanceUID for item in sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence}
    ct_series = seg.ReferencedSeriesSequence[0].SeriesInstanceUID
    assert ct_series in evidence and seg.SeriesInstanceUID in evidence


def test_patient_and_study_come_from_the_ct(sr, seg):
    assert sr.PatientID == scan_study.PATIENT_ID
    assert sr.StudyInstanceUID == seg.StudyInstanceUID


def test_without_a_seg_the_groups_point_at_the_centroids(tmp_path, kb):
    findings = scan_study.build(tmp_path, with_seg=False)
    ds = build_sr(from_findings(findings, kb), now=NOW)
    path = tmp_path / "sr.dcm"
    ds.save_as(path)
    groups = hd.sr.srread(path).content.get_volumetric_roi_measurement_groups()
    assert len(groups) == 2
    for g in groups:
        assert g.referenced_segment is None
        assert g.roi is not None and g.roi.graphic_type.value == "POINT"



def test_a_study_without_calcification_gets_an_sr_with_the_liver_alone(normal_scan):
    import json

    findings = json.loads((normal_scan / "findings.json").read_text())
    assert findings["lesions"] == []
    sr = hd.sr.srread(normal_scan / "sr.dcm")
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert sr.content.get_volumetric_roi_measurement_groups() == []
    groups = sr.content.get_image_measurement_groups()
    assert len(groups) == 1
    liver = groups[0]
    assert liver.tracking_identifier == "Liver"
    evaluation = liver.get_qualitative_evaluations()[0]
    assert evaluation.name.value == "18115005" and evaluation.value.value == "272519000"  # calcification: absent
    volume = liver.get_measurements()[0]
    assert volume.unit.value == "ml" and volume.value == pytest.approx(findings["liver"]["volume_ml"])
    # the series has empty study/series UIDs: the SR references the CT instances all the same
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert len(evidence.ReferencedSOPSequence) == 20 and sr.StudyInstanceUID


def test_seg_search_reads_headers_only(scan_findings, kb, monkeypatch):
    """Looking for the SEG decodes no pixels: only the SEG that is used is read whole."""
    from hepcal.report import sr as sr_module

    calls = []
    real = pydicom.dcmread

    def spy(path, *args, **kwargs):
        calls.append((str(path), kwargs.get("stop_before_pixels", False)))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sr_module.pydicom, "dcmread", spy)
    src = from_findings(scan_findings, kb)
    series = sr_module.source_series(src)
    calls.clear()
    seg = sr_module.find_seg(src, str(series[0].SeriesInstanceUID))
    assert seg is not None and seg.Modality == "SEG"
    full = [path for path, headers_only in calls if not headers_only]
    assert full == [str(src.seg)]
