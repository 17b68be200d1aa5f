"""DICOMweb round trip against a real Orthanc: a study stored there, scanned by its address with
--push, the SEG and SR read back from the PACS; a rerun stores nothing twice."""

from __future__ import annotations

import highdicom as hd
import pydicom
import pytest
from typer.testing import CliRunner

from hepcal.cli.main import app
from hepcal.errors import InputError
from hepcal.pacs.dicomweb import _session, client_from_env, parse_study_url

from .conftest import phantom_series, upload


def test_study_address_is_parsed_and_credentials_in_it_refused():
    ref = parse_study_url("https://pacs.example/dicom-web/studies/1.2.840.113619.2.1")
    assert (ref.base_url, ref.study_uid) == ("https://pacs.example/dicom-web", "1.2.840.113619.2.1")
    for bad in ("ftp://pacs/studies/1.2", "https://pacs.example/dicom-web/series/1.2", "https://pacs/studies/1.2.x"):
        with pytest.raises(InputError, match="studies"):
            parse_study_url(bad)
    with pytest.raises(InputError, match="credentials in the address are refused"):
        parse_study_url("https://user:secret@pacs.example/studies/1.2")


def test_credentials_come_from_the_environment_only():
    assert _session({"HEPCAL_DICOMWEB_TOKEN": "t0k"}).headers["Authorization"] == "Bearer t0k"
    assert _session({"HEPCAL_DICOMWEB_USER": "u", "HEPCAL_DICOMWEB_PASSWORD": "p"}).auth == ("u", "p")
    with pytest.raises(InputError, match="needs both"):
        _session({"HEPCAL_DICOMWEB_USER": "u"})
    assert "Authorization" not in _session({}).headers


def _results(client, study_uid):  # type: ignore[no-untyped-def]
    out = {}
    for modality in ("SEG", "SR"):
        series = client.search_for_series(study_instance_uid=study_uid, search_filters={"Modality": modality}) or []
        out[modality] = [pydicom.Dataset.from_json(m) for s in series
                         for m in client.retrieve_series_metadata(study_instance_uid=study_uid, series_instance_uid=s["0020000E"]["Value"][0])]
    return out


@pytest.mark.slow
def test_scan_by_dicomweb_with_push_stores_seg_and_sr_once(orthanc, tmp_path):
    files = phantom_series(tmp_path / "ct", seed="dicomweb-round-trip")
    study_uid = upload(orthanc, files)
    ct_series = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
    url = f"{orthanc.dicomweb}/studies/{study_uid}"
    runner = CliRunner()
    first = runner.invoke(app, ["scan", url, "--push", "--no-progress", "--format", "json", "--out", str(tmp_path / "out")])
    assert first.exit_code == 0, first.output
    client = client_from_env(orthanc.dicomweb, env={})
    stored = _results(client, study_uid)
    assert len(stored["SEG"]) == 1 and len(stored["SR"]) == 1
    seg_meta, sr_meta = stored["SEG"][0], stored["SR"][0]
    assert {str(r.SeriesInstanceUID) for r in seg_meta.ReferencedSeriesSequence} == {ct_series}
    evidence = {str(s.SeriesInstanceUID) for e in sr_meta.CurrentRequestedProcedureEvidenceSequence for s in e.ReferencedSeriesSequence}
    assert ct_series in evidence and str(seg_meta.SeriesInstanceUID) in evidence
    # the objects themselves, read back from the PACS, hold the lesions the scan found
    import json

    found = json.loads((tmp_path / "out" / "findings.json").read_text())
    seg = hd.seg.Segmentation.from_dataset(client.retrieve_instance(study_uid, str(seg_meta.SeriesInstanceUID), str(seg_meta.SOPInstanceUID)))
    assert seg.number_of_segments == len(found["lesions"]) >= 2
    sr_ds = client.retrieve_instance(study_uid, str(sr_meta.SeriesInstanceUID), str(sr_meta.SOPInstanceUID))
    groups = hd.sr.Comprehensive3DSR.from_dataset(sr_ds).content.get_volumetric_roi_measurement_groups()
    assert len(groups) == len(found["lesions"])
    for group, number in zip(groups, range(1, len(groups) + 1)):
        assert group.referenced_segment.referenced_sop_instance_uid == str(seg_meta.SOPInstanceUID)
        assert group.referenced_segment.referenced_segment_numbers == [number]
    # a lesion whose pattern the measurements leave uncertain has no pattern in its finding, nor in the SR
    named = [bool(les["finding"].get("calcification")) for les in found["lesions"]]
    for group, has_pattern in zip(groups, named):
        assert ("calc-pattern" in {q.name.value for q in group.get_qualitative_evaluations()}) == has_pattern
    patterns = {p for les in found["lesions"] for p in les["finding"].get("calcification", [])}
    assert patterns & {"rim", "dense_nodular"}
    # a rerun of the same version finds its results and stores nothing again
    second = runner.invoke(app, ["scan", url, "--push", "--no-progress", "--format", "json", "--out", str(tmp_path / "out2")])
    assert second.exit_code == 0, second.output
    again = _results(client, study_uid)
    assert len(again["SEG"]) == 1 and len(again["SR"]) == 1
    assert "not stored again" in second.output or "stored in the PACS: 0" in second.output


def test_push_needs_a_dicomweb_study(tmp_path):
    r = CliRunner().invoke(app, ["scan", str(tmp_path), "--push"])
    assert r.exit_code == 2 and "DICOMweb study address" in r.output


def test_unreachable_pacs_is_a_clear_error():
    r = CliRunner().invoke(app, ["scan", "http://127.0.0.1:9/dicom-web/studies/1.2.3", "--no-progress"])
    assert r.exit_code == 2 and "could not be reached" in r.output
