"""Every output exists for the three examples and for the phantom DICOM scan."""

from __future__ import annotations

import pytest

from tests.report.conftest import EXAMPLE_IDS

CASE_FILES = {"report.html", "report.pdf", "patient.html", "fhir.json"}


def test_there_are_four_examples():
    assert len(EXAMPLE_IDS) == 4


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_a_case_gets_html_pdf_patient_and_fhir(example_reports, name):
    written = example_reports[name]
    assert set(written) == CASE_FILES
    for path in written.values():
        assert path.is_file() and path.stat().st_size > 1000


def test_a_dicom_scan_also_gets_an_sr(scan_reports):
    assert set(scan_reports) == CASE_FILES | {"sr.dcm"}
    assert scan_reports["sr.dcm"].read_bytes()[128:132] == b"DICM"
