"""A DICOMweb query as the batch input: parsing, validation and the command line's choice of input
(the run against a real PACS is in tests/pacs/test_batch_dicomweb.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepcal.batch.dicomweb import DicomwebQuery, parse_query, source_of
from hepcal.cli.main import app
from hepcal.errors import InputError


def test_options_and_the_address_form_give_the_same_query():
    by_options = parse_query("https://pacs.example/dicom-web/", modality="CT", since="20240101", until="20240131", limit=50)
    assert by_options == DicomwebQuery("https://pacs.example/dicom-web", "CT", "20240101", "20240131", 50)
    assert by_options.filters() == {"ModalitiesInStudy": "CT", "StudyDate": "20240101-20240131"}
    assert parse_query(by_options.url()) == by_options
    one_day = parse_query("https://pacs.example/dicom-web/studies?StudyDate=20240105")
    assert (one_day.modality, one_day.since, one_day.until) == ("CT", "20240105", "20240105")
    open_end = parse_query("https://pacs.example/dicom-web", since="20240101")
    assert open_end.filters()["StudyDate"] == "20240101-"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"since": "2024-01-01"}, "expected a date as YYYYMMDD"),
    ({"until": "20240231"}, "expected a date as YYYYMMDD"),
    ({"since": "20240201", "until": "20240101"}, "is after"),
    ({"limit": 0}, "positive number"),
    ({"modality": "ct scan"}, "modality code"),
])
def test_bad_filters_are_named(kwargs, message):
    with pytest.raises(InputError, match=message):
        parse_query("https://pacs.example/dicom-web", **kwargs)


def test_bad_addresses_are_refused():
    with pytest.raises(InputError, match="service root"):
        parse_query("pacs.example/dicom-web")
    with pytest.raises(InputError, match="credentials in the address are refused"):
        parse_query("https://user:secret@pacs.example/dicom-web")
    with pytest.raises(InputError, match="PatientName.*not supported"):
        parse_query("https://pacs.example/dicom-web/studies?PatientName=DOE")
    with pytest.raises(InputError, match="disagrees"):
        parse_query("https://pacs.example/dicom-web/studies?ModalitiesInStudy=MR", modality="CT")


def test_the_command_line_takes_a_folder_or_a_query_not_both(tmp_path: Path):
    assert source_of(tmp_path, None) == tmp_path
    assert isinstance(source_of(None, "https://pacs.example/dicom-web", since="20240101"), DicomwebQuery)
    for folder, address, query, message in ((None, None, {}, "give a folder"), (tmp_path, None, {"since": "20240101"}, "only apply with --dicomweb"),
                                            (tmp_path, "https://pacs.example/dicom-web", {}, "not both")):
        with pytest.raises(InputError, match=message):
            source_of(folder, address, **query)
    r = CliRunner().invoke(app, ["batch", "--out", str(tmp_path / "out"), "--dicomweb", "https://pacs.example/dicom-web", "--since", "2024"])
    assert r.exit_code == 2 and "YYYYMMDD" in r.output and "Traceback" not in r.output


def test_an_unreachable_pacs_is_a_usage_error_before_anything_runs(tmp_path: Path):
    r = CliRunner().invoke(app, ["batch", "--out", str(tmp_path / "out"), "--dicomweb", "http://127.0.0.1:9/dicom-web", "-q"])
    assert r.exit_code == 2, r.output
    assert "could not be reached" in r.output and not (tmp_path / "out" / "studies.parquet").exists()
