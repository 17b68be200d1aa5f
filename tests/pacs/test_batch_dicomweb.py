"""``hepcal batch --dicomweb``: the studies of a date range in a real Orthanc, fetched and scanned
like local ones, resumable by StudyInstanceUID."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hepcal.cli.main import app
from hepcal.imaging.dicom_series import SeriesIdentity, write_ct_series
from hepcal.imaging.phantom import LesionSpec, make_phantom

from .conftest import upload

pytestmark = pytest.mark.slow


def _study(folder: Path, seed: str, when: datetime) -> list[Path]:
    ph = make_phantom(lesions=[LesionSpec("rim")], spacing=(3.0, 2.0, 2.0), fov_mm=(120.0, 200.0, 260.0), seed=7)
    return write_ct_series(ph.volume, folder, identity=SeriesIdentity(patient_name="PHANTOM^BATCH", patient_id="BATCH1"), seed=seed, when=when)


def test_batch_over_a_dicomweb_date_range_scans_only_the_studies_in_it(orthanc, tmp_path):
    january = upload(orthanc, _study(tmp_path / "jan", "batch-dicomweb-jan", datetime(2024, 1, 15, 9, 30)))
    march = upload(orthanc, _study(tmp_path / "mar", "batch-dicomweb-mar", datetime(2024, 3, 2, 14, 0)))
    assert january != march
    out = tmp_path / "results"
    args = ["batch", "--dicomweb", orthanc.dicomweb, "--modality", "CT", "--since", "20240101", "--until", "20240131",
            "--out", str(out), "--workers", "1", "-q"]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    studies = pd.read_parquet(out / "studies.parquet")
    assert studies["key"].tolist() == [f"uid-{january}"]
    row = studies.iloc[0]
    assert row["status"] == "ok" and row["source"] == f"{orthanc.dicomweb}/studies/{january}"
    # the same series scanned from a local folder by the batch gives the same lesions
    local = runner.invoke(app, ["batch", str(tmp_path / "jan"), "--out", str(tmp_path / "local"), "--workers", "1", "-q"])
    assert local.exit_code == 0, local.output
    expected = pd.read_parquet(tmp_path / "local" / "lesions.parquet")
    lesions = pd.read_parquet(out / "lesions.parquet")
    assert row["lesion_count"] == len(expected) >= 1
    assert (lesions["source"] == row["source"]).all()
    columns = ["lesion", "finding.size_mm", "finding.max_hu", "calcification_volume_mm3", "p_malignant", "dx1"]
    pd.testing.assert_frame_equal(lesions[columns].reset_index(drop=True), expected[columns].reset_index(drop=True))
    named = lambda col: [None if c is None else list(c) for c in col]  # noqa: E731 - None: the pattern left uncertain
    assert named(lesions["finding.calcification"]) == named(expected["finding.calcification"])
    assert "rim" in {p for c in lesions["finding.calcification"] if c is not None for p in c}
    meta = json.loads((out / "batch.json").read_text())
    assert meta["input"] == f"{orthanc.dicomweb}/studies?ModalitiesInStudy=CT&StudyDate=20240101-20240131"
    assert list((out / "parts").glob("*.json")) == [out / "parts" / f"uid-{january}.json"]
    assert not any(Path(tempfile.gettempdir()).glob("hepcal-dicomweb-*")), "the fetched series must be removed after the scan"

    # a rerun with a wider range: the January study is done (skipped), only March runs
    wider = runner.invoke(app, [*args[:8], "20240331", *args[9:]])
    assert wider.exit_code == 0, wider.output
    studies = pd.read_parquet(out / "studies.parquet").set_index("key")
    assert sorted(studies.index) == sorted([f"uid-{january}", f"uid-{march}"])
    assert (studies["status"] == "ok").all()
    assert json.loads((out / "batch.json").read_text())["skipped_done"] == 1
    assert json.loads((out / "batch.json").read_text())["ran"] == 1


def test_a_query_matching_no_study_is_a_usage_error(orthanc, tmp_path):
    r = CliRunner().invoke(app, ["batch", "--dicomweb", orthanc.dicomweb, "--since", "19990101", "--until", "19990131",
                                 "--out", str(tmp_path / "out"), "-q"])
    assert r.exit_code == 2 and "lists no study" in r.output
