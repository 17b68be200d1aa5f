"""``hepcal scan <DICOM study> --report DIR`` with the real pipeline: all five outputs, SR on the SEG."""

from __future__ import annotations

import logging

import highdicom as hd
import pydicom
import pytest
from typer.testing import CliRunner

from hepcal.cli.main import app
from hepcal.imaging.dicom_series import SeriesIdentity, write_ct_series
from hepcal.imaging.phantom import LesionSpec, make_phantom
from tests.report.scan_study import PATIENT_ID, PATIENT_NAME

pytest.importorskip("hepcal.imaging.pipeline")


@pytest.mark.slow
def test_scan_with_report_writes_everything_and_logs_no_identifier(tmp_path, caplog):
    ph = make_phantom(lesions=[LesionSpec("rim", size_mm=30)], spacing=(2.5, 2.0, 2.0), seed=4)
    write_ct_series(ph.volume, tmp_path / "study", identity=SeriesIdentity(patient_name=PATIENT_NAME, patient_id=PATIENT_ID))
    with caplog.at_level(logging.DEBUG):
        r = CliRunner().invoke(app, ["scan", str(tmp_path / "study"), "--report", str(tmp_path / "out"), "--no-progress"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    for name in ("report.html", "report.pdf", "patient.html", "fhir.json", "sr.dcm", "findings.json"):
        assert (out / name).is_file(), name
    sr = hd.sr.srread(out / "sr.dcm")
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert groups
    segs = [pydicom.dcmread(p) for p in out.glob("*.dcm") if pydicom.dcmread(p, stop_before_pixels=True).Modality == "SEG"]
    if segs:  # the imaging side wrote the calcification SEG: the SR points at it
        assert groups[0].referenced_segment.referenced_sop_instance_uid == segs[0].SOPInstanceUID
    assert 'src="data:image/png;base64,' in (out / "report.html").read_text("utf-8")
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert PATIENT_ID not in logged and PATIENT_NAME not in logged
