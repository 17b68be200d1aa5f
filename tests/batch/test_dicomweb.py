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


@pytest.fixture
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real client without its retries (five attempts with back-off, about 30 s on a refused connection)."""
    pytest.importorskip("dicomweb_client")
    from hepcal.pacs import dicomweb

    real = dicomweb.client_from_env

    def once(base_url, env=None):  # type: ignore[no-untyped-def]
        client = real(base_url, env)
        client.set_http_retry_params(retry=False)
        return client

    monkeypatch.setattr(dicomweb, "client_from_env", once)


def test_an_unreachable_pacs_is_a_usage_error_before_anything_runs(tmp_path: Path, no_retries: None):
    r = CliRunner().invoke(app, ["batch", "--out", str(tmp_path / "out"), "--dicomweb", "http://127.0.0.1:9/dicom-web", "-q"])
    assert r.exit_code == 2, r.output
    assert "could not be reached" in r.output and not (tmp_path / "out" / "studies.parquet").exists()


class FakeQido:
    """search_for_studies of dicomweb-client over a list of study records (paged by limit/offset)."""

    def __init__(self, records: list[dict]):
        self.records = records
        self.calls: list[tuple[int, int, dict]] = []

    def search_for_studies(self, *, search_filters, fields, limit, offset):  # type: ignore[no-untyped-def]
        self.calls.append((limit, offset, dict(search_filters)))
        return self.records[offset: offset + limit]


def _record(uid: str, date: str) -> dict:
    return {"0020000D": {"vr": "UI", "Value": [uid]}, "00080020": {"vr": "DA", "Value": [date]}}


def test_studies_are_paged_limited_ordered_and_keyed_by_their_uid():
    from hepcal.batch.dicomweb import find_studies

    records = [_record(f"1.2.3.{i}", f"2024{1 + i % 12:02d}01") for i in range(250)] + [_record("not-a-uid", "20240101")]
    qido = FakeQido(records)
    query = parse_query("https://pacs.example/dicom-web", since="20240101", until="20241231", limit=120)
    studies = find_studies(query, client=qido)
    assert [(limit, offset) for limit, offset, _ in qido.calls] == [(100, 0), (20, 100)]
    assert qido.calls[0][2] == {"ModalitiesInStudy": "CT", "StudyDate": "20240101-20241231"}
    assert len(studies) == 120 and len({s.key for s in studies}) == 120
    first = studies[0]
    assert first.key == first.study_key == "uid-" + first.path.rsplit("/", 1)[1]
    assert first.source == first.path and first.path.startswith("https://pacs.example/dicom-web/studies/1.2.3.")
    dates = [next(r for r in records if r["0020000D"]["Value"][0] == s.path.rsplit("/", 1)[1])["00080020"]["Value"][0] for s in studies]
    assert dates == sorted(dates), "oldest first"
    everything = find_studies(parse_query("https://pacs.example/dicom-web"), client=FakeQido(records))
    assert len(everything) == 250  # all pages; the record without a usable UID is left out
    with pytest.raises(InputError, match="lists no study"):
        find_studies(parse_query("https://pacs.example/dicom-web"), client=FakeQido([]))


def test_a_study_that_cannot_be_fetched_fails_on_its_own(no_retries: None):
    from hepcal.batch.dicomweb import run_fetched
    from hepcal.batch.study import Study

    address = "http://127.0.0.1:9/dicom-web/studies/1.2.3.4"
    rec = run_fetched(Study(key="uid-1.2.3.4", study_key="uid-1.2.3.4", source=address, kind="dicom", path=address))
    assert rec["status"] == "failed" and rec["key"] == "uid-1.2.3.4"
    assert "could not be reached" in rec["error"] and rec["error_type"] == "PacsError"
