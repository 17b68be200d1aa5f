"""Scan jobs: the seam to the CT pipeline, progress, key images, and a lesion opened for assessment."""

from __future__ import annotations

import inspect
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hepcal.web import scans
from hepcal.web.app import create_app
from hepcal.web.settings import Settings
from tests.web.conftest import FAKE_MIMIC, FakePipeline


def _params(fn: Any) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of every parameter; annotations differ (FakeResult vs ScanResult)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _real() -> dict[str, Any]:
    pipeline = pytest.importorskip("hepcal.imaging.pipeline", reason="the imaging extra is not installed")
    outputs = pytest.importorskip("hepcal.imaging.outputs", reason="the imaging extra is not installed")
    return {"scan_study": pipeline.scan_study, "write_outputs": outputs.write_outputs, "Progress": pipeline.Progress}


# -- the seam --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["scan_study", "write_outputs"])
def test_fake_pipeline_has_the_real_signatures(name: str) -> None:
    assert _params(getattr(FakePipeline(), name)) == _params(_real()[name])


@pytest.mark.parametrize("name", ["scan_study", "write_outputs"])
def test_real_pipeline_accepts_every_call_of_the_web_app(name: str) -> None:
    """Each parameter of ``scans.Pipeline`` (what ``ScanRunner`` passes) exists, same kind, in the real function."""
    real = {p.name: p for p in inspect.signature(_real()[name]).parameters.values()}
    wanted = [p for p in inspect.signature(getattr(scans.Pipeline, name)).parameters.values() if p.name != "self"]
    assert wanted
    for p in wanted:
        assert p.name in real, f"{name} has no parameter {p.name!r}"
        assert real[p.name].kind == p.kind, f"{name}({p.name}) is {real[p.name].kind}, the web app calls it as {p.kind}"


def test_progress_hook_has_the_pipelines_contract() -> None:
    assert scans.Progress == _real()["Progress"]


def test_imaging_pipeline_binds_the_real_functions() -> None:
    real = _real()
    bound = scans.imaging_pipeline()
    assert bound.scan_study is real["scan_study"] and bound.write_outputs is real["write_outputs"]
    assert scans.imaging_available()


# -- pieces ----------------------------------------------------------------------------------

class _Store:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def update_job(self, job_id: str, **values: Any) -> None:
        self.updates.append(values)


def test_progress_names_each_pipeline_step_and_leaves_room_for_key_images() -> None:
    store = _Store()
    report = scans._progress_callback(store, "job")  # type: ignore[arg-type]
    for step, fraction in (("reading", 0.0), ("liver", 0.1), ("detection", 0.5), ("done", 1.0), ("new step", 0.95)):
        report(step, fraction)
    assert [u["stage"] for u in store.updates] == ["reading the study", "outlining the liver", "finding dense foci",
                                                   "analysis finished", "new step"]
    progress = [u["progress"] for u in store.updates]
    assert progress[0] == pytest.approx(0.02) and progress[3] == pytest.approx(scans.ANALYSIS_SHARE)
    assert scans.ANALYSIS_SHARE < 1.0
    assert progress[:4] == sorted(progress[:4])


def test_only_the_key_images_findings_json_lists_are_served() -> None:
    result = {"study": {"source": "evil.png"}, "notes": ["see other.png"], "overview_image": "overview.png",
              "lesions": [{"key_image": "lesion-1.png"}, {"key_image": None}, {"key_image": "../x.png"}]}
    assert scans.key_images(result) == {"lesion-1.png", "overview.png"}
    assert scans.key_images(None) == set()


def test_a_lesion_opens_with_its_case_context_or_its_finding() -> None:
    finding = {"calcification": ["rim"]}
    case = {"finding": finding, "history": {"fever": False}}
    assert scans.lesion_case({"finding": finding, "case": case}) == case
    assert scans.lesion_case({"finding": finding}) == {"finding": finding}


# -- a job through the fake pipeline ---------------------------------------------------------

def _upload(client: TestClient, study: bytes, mask: bytes | None = None) -> str:
    files: dict[str, Any] = {"study": ("study.nii.gz", study, "application/octet-stream")}
    if mask is not None:
        files["liver_mask"] = ("liver.nii.gz", mask, "application/octet-stream")
    r = client.post("/api/scans", files=files, headers={"x-csrf-token": "1"})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _wait(client: TestClient, job_id: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/scans/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"scan job {job_id} did not finish in {seconds} s")


def test_job_result_is_findings_json_without_server_paths(client: TestClient, pipeline: FakePipeline) -> None:
    from tests.web.conftest import nifti_bytes

    job = _wait(client, _upload(client, nifti_bytes()), 10)
    assert job["status"] == "done", job["message"]
    assert job["progress"] == 1.0 and job["stage"] == "done"  # the worker's progress reached the store
    assert job["result"]["study"]["source"] == "study.nii"  # not the job folder on the server
    assert job["result"]["lesions"][0]["key_image"] == "lesion-1.png"
    assert client.get(f"/api/scans/{job['id']}/images/overview.png").status_code == 200
    page = client.get(f"/ct/{job['id']}").text
    assert f'src="/api/scans/{job["id"]}/images/overview.png"' in page
    assert f'src="/api/scans/{job["id"]}/images/lesion-1.png"' in page
    assert FAKE_MIMIC in page and "calcium along the wall of a lesion" in page


def test_lesion_opens_in_assess_page_with_finding_context_and_cautions(client: TestClient) -> None:
    from tests.web.conftest import nifti_bytes

    job = _wait(client, _upload(client, nifti_bytes()), 10)
    page = client.get(f"/assess?scan={job['id']}&lesion=0").text
    assert "Findings extracted from CT" in page
    assert re.search(r'name="finding.calcification" value="rim" checked', page)
    assert re.search(r'name="finding.lesion".*?<option value="cystic" selected', page, re.S)
    assert re.search(r'name="history.incidental" value="true" checked', page)  # the case's context, not only the finding
    assert FAKE_MIMIC in page
    assert f'src="/api/scans/{job["id"]}/images/lesion-1.png"' in page
    assert client.get(f"/assess?scan={job['id']}&lesion=1").status_code == 404


# -- a job through the real pipeline (a small phantom, a few seconds) ------------------------

@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    _real()
    from typer.testing import CliRunner

    from hepcal.cli.main import app as cli

    out = tmp_path_factory.mktemp("phantom") / "rim.nii.gz"
    result = CliRunner().invoke(cli, ["phantom", "--pattern", "rim", "--spacing", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, out.parent / "rim_liver.nii.gz"


def test_real_pipeline_job_lists_lesion_key_image_and_opens_it(settings: Settings, phantom: tuple[Path, Path]) -> None:
    study, liver = phantom
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:  # no fake: hepcal.imaging
        job = _wait(client, _upload(client, study.read_bytes(), liver.read_bytes()), 120)
        assert job["status"] == "done", job["message"]
        result = job["result"]
        assert result["liver"]["source"] == "given mask" and result["phase"]["used"] == "unenhanced"
        assert len(result["lesions"]) == 1
        lesion = result["lesions"][0]
        assert lesion["finding"]["calcification"] == ["rim"] and lesion["assessment"]["differential"]
        for name in (lesion["key_image"], result["overview_image"]):
            img = client.get(f"/api/scans/{job['id']}/images/{name}")
            assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
        page = client.get(f"/ct/{job['id']}").text
        assert f'/assess?scan={job["id"]}&amp;lesion=0' in page and lesion["key_image"] in page
        assess = client.get(f"/assess?scan={job['id']}&lesion=0").text
        assert 'name="finding.calcification" value="rim" checked' in assess
        assert 'name="finding.modality" value="ct" checked' in assess
