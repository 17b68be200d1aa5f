"""The study viewer's routes: the page, its files behind authentication, and the messages when the
viewer files or the viewer script are absent."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hepcal.web import viewer
from hepcal.web.app import create_app
from hepcal.web.settings import Settings
from hepcal.web.viewer_files import FILES, write_job_viewer
from tests.web.conftest import TOKEN, FakePipeline, FakeResult, nifti_bytes
from tests.web.test_scans import _upload, _wait


def _viewer_folder(client: TestClient, job_id: str) -> Path:
    return client.app.state.services.runner.folder(job_id) / "out" / "viewer"  # type: ignore[attr-defined]


def test_window_presets_are_the_standard_ones() -> None:
    windows = {w.key: (w.width, w.level) for w in viewer.viewer_config().windows}
    assert windows["abdomen"] == (400, 40) and windows["bone"] == (1800, 400) and windows["liver"] == (150, 30)
    assert viewer.viewer_config().windows[0].key == "abdomen"


def test_a_result_without_images_writes_no_viewer_files(tmp_path: Path) -> None:
    assert write_job_viewer(FakeResult("x.nii.gz", []), tmp_path) is None
    assert not (tmp_path / "viewer").exists()


def test_job_links_the_viewer_and_a_job_without_viewer_files_says_so(client: TestClient) -> None:
    job = _wait(client, _upload(client, nifti_bytes()), 10)
    assert job["status"] == "done"
    assert f'href="/ct/{job["id"]}/viewer"' in client.get(f"/ct/{job['id']}").text
    page = client.get(f"/ct/{job['id']}/viewer")
    assert page.status_code == 200 and "viewer images of this scan are not available" in page.text
    assert "/static/viewer.js" not in page.text
    missing = client.get(f"/api/scans/{job['id']}/viewer/ct.nii.gz")
    assert missing.status_code == 404 and "not available" in missing.json()["error"]
    assert client.get("/ct/nosuchjob123/viewer").status_code == 404


def test_viewer_files_need_authentication_and_are_served_by_name_only(settings: Settings, pipeline: FakePipeline) -> None:
    s = dataclasses.replace(settings, users={TOKEN: "alice"})
    with TestClient(create_app(s, pipeline=pipeline), raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        r = client.post("/api/scans", files={"study": ("s.nii.gz", nifti_bytes(), "application/octet-stream")}, headers=auth)
        job_id = r.json()["id"]
        client.headers.update(auth)
        assert _wait(client, job_id, 10)["status"] == "done"
        folder = _viewer_folder(client, job_id)
        folder.mkdir(parents=True)
        (folder / FILES["ct"]).write_bytes(gzip.compress(nifti_bytes()))
        (folder / FILES["index"]).write_text(json.dumps({"shape": [1, 1, 1], "lesions": []}))
        (folder.parent / "secret.txt").write_text("not a viewer file")
        ok = client.get(f"/api/scans/{job_id}/viewer/ct.nii.gz")
        assert ok.status_code == 200 and gzip.decompress(ok.content) == nifti_bytes()
        for name in ("secret.txt", "..%2Fsecret.txt", "findings.json", "ct.nii"):
            bad = client.get(f"/api/scans/{job_id}/viewer/{name}")
            assert bad.status_code == 404, name
        client.headers.pop("Authorization")
        assert client.get(f"/api/scans/{job_id}/viewer/ct.nii.gz").status_code == 401
        page = client.get(f"/ct/{job_id}/viewer", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("hepcal.imaging.pipeline")
    from typer.testing import CliRunner

    from hepcal.cli.main import app as cli

    out = tmp_path_factory.mktemp("phantom") / "rim.nii.gz"
    result = CliRunner().invoke(cli, ["phantom", "--pattern", "rim", "--spacing", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, out.parent / "rim_liver.nii.gz"


def test_a_real_scan_writes_the_viewer_files_and_lists_its_lesions(settings: Settings, phantom: tuple[Path, Path],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    nib = pytest.importorskip("nibabel")
    study, liver = phantom
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        job = _wait(client, _upload(client, study.read_bytes(), liver.read_bytes()), 120)
        assert job["status"] == "done", job["message"]
        folder = _viewer_folder(client, job["id"])
        ct = nib.load(folder / "ct.nii.gz")
        assert ct.shape == tuple(job["result"]["study"]["shape"][::-1])
        index = client.get(f"/api/scans/{job['id']}/viewer/viewer.json").json()
        assert [les["id"] for les in index["lesions"]] == [les["id"] for les in job["result"]["lesions"]] == [1]
        plane = round(job["result"]["lesions"][0]["centroid_voxel"][0])
        monkeypatch.setattr(viewer, "viewer_installed", lambda: True)
        page = client.get(f"/ct/{job['id']}/viewer").text
        assert f'data-plane="{plane}"' in page and 'src="/static/viewer.js"' in page
        assert "W400 L40" in page and "W1800 L400" in page and "W150 L30" in page
        monkeypatch.setattr(viewer, "viewer_installed", lambda: False)
        page = client.get(f"/ct/{job['id']}/viewer").text
        assert "image viewer is not installed" in page and "make install" in page and "/static/viewer.js" not in page
        assert "Lesion 1: rim" in page  # the lesion list is there without the viewer
