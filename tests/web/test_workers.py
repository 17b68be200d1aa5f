"""Scan jobs run in worker processes under memory and time limits; jobs expire; messages hold no
server path."""

from __future__ import annotations

import dataclasses
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hepcal.web.app import create_app
from hepcal.web.settings import Settings
from tests.web.conftest import nifti_bytes
from tests.web.pipelines import Buggy, MemoryHog, Refuser, Sleeper
from tests.web.test_scans import _upload, _wait


def _client(settings: Settings, pipeline, **changes) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(dataclasses.replace(settings, **changes), pipeline=pipeline), raise_server_exceptions=False)


def test_a_job_over_the_memory_limit_fails_clearly_and_the_server_goes_on(settings: Settings) -> None:
    with _client(settings, MemoryHog(), scan_memory_mb=1024) as c:
        job = _wait(c, _upload(c, nifti_bytes()), 60)
        assert job["status"] == "failed"
        assert "memory" in job["message"] and "1024 MB" in job["message"]
        assert c.get("/api/health").status_code == 200


def test_a_job_over_the_time_limit_is_stopped(settings: Settings) -> None:
    with _client(settings, Sleeper(), scan_timeout_s=5) as c:
        start = time.monotonic()
        job = _wait(c, _upload(c, nifti_bytes()), 40)
        assert job["status"] == "failed" and "time limit of 5 s" in job["message"]
        assert time.monotonic() - start < 30


def test_a_refused_study_names_the_problem_without_server_paths(settings: Settings) -> None:
    with _client(settings, Refuser()) as c:
        job = _wait(c, _upload(c, nifti_bytes()), 60)
        assert job["status"] == "failed" and "RescaleIntercept is missing" in job["message"]
        assert str(settings.data_dir) not in job["message"] and job["message"].startswith("upload/study.nii:")


def test_a_bug_in_the_pipeline_gives_no_detail(settings: Settings) -> None:
    with _client(settings, Buggy()) as c:
        job = _wait(c, _upload(c, nifti_bytes()), 60)
        assert job["status"] == "failed" and "unexpectedly" in job["message"] and "KeyError" not in job["message"]


def test_jobs_past_retention_are_removed_with_their_folders(settings: Settings) -> None:
    from tests.web.conftest import FakePipeline

    with _client(settings, FakePipeline(), job_retention_days=1) as c:
        job_id = _wait(c, _upload(c, nifti_bytes()), 60)["id"]
        svc = c.app.state.services
        folder = settings.scans_dir / job_id
        assert folder.is_dir()
        orphan = settings.scans_dir / "orphan-folder-xyz"
        orphan.mkdir()
        old = time.time() - 2 * 3600
        os.utime(orphan, (old, old))
        svc.store.update_job(job_id, created_at=datetime.now(timezone.utc) - timedelta(days=2))
        assert svc.runner.purge_expired() == 2
        assert not folder.exists() and not orphan.exists()
        assert c.get(f"/api/scans/{job_id}").status_code == 404


def test_without_paths_removes_server_folders() -> None:
    from hepcal.web.scans import without_paths

    root = Path("/srv/hepcal/scans/abc123")
    assert without_paths(f"{root}/study/1.dcm: bad; see /var/lib/x/y.log", root) == "study/1.dcm: bad; see y.log"


@pytest.mark.parametrize("name", ["HEPCAL_SCAN_MEMORY_MB", "HEPCAL_SCAN_TIMEOUT_S", "HEPCAL_JOB_RETENTION_DAYS", "HEPCAL_SESSION_HOURS"])
def test_limits_are_checked_settings(name: str) -> None:
    from hepcal.errors import InputError
    from hepcal.web.settings import from_env

    with pytest.raises(InputError, match=name):
        from_env({name: "lots", "HEPCAL_DATA_DIR": "/tmp/x"})
