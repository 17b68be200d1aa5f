"""No patient identifier reaches a log, and the report names what it was made with."""

from __future__ import annotations

from tests.report.scan_study import PATIENT_ID, PATIENT_NAME


def test_scan_study_carries_identifiers(scan_reports):
    import pydicom

    sr = pydicom.dcmread(scan_reports["sr.dcm"])
    assert sr.PatientID == PATIENT_ID  # the DICOM objects do; the logs must not


def test_no_patient_identifier_in_any_log_record(scan_reports, scan_logs):
    assert scan_logs, "the writers log what they wrote"
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in scan_logs)
    for secret in (PATIENT_ID, PATIENT_NAME, "Doe", "Jane"):
        assert secret not in text


def test_no_patient_identifier_in_the_html_reports(scan_reports):
    for name in ("report.html", "patient.html"):
        html = scan_reports[name].read_text("utf-8")
        assert PATIENT_ID not in html and PATIENT_NAME not in html
