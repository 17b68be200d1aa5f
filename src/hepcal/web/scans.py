"""CT scan jobs: the uploaded study is analysed in a background thread, progress in the store.

Each job owns one folder, ``<data>/scans/<job id>/``: ``upload/`` (the files as received,
renamed by their detected type), ``study/`` (an extracted DICOM series) and ``out/`` (what
``hepcal.imaging.pipeline.write_outputs`` writes, key images included). Key images are served
by file name only, and only names the job's own result lists.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hepcal.errors import HepcalError, InputError
from hepcal.web.store import Store
from hepcal.web.uploads import SUFFIX, Kind, extract_zip

log = logging.getLogger(__name__)

IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.png$")
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def new_job_id() -> str:
    return secrets.token_urlsafe(12)


def imaging_available() -> bool:
    """Whether the CT pipeline is installed in this build."""
    try:
        from hepcal.imaging import pipeline  # noqa: F401
    except ImportError:
        return False
    return hasattr(pipeline, "scan_study")


def key_images(result: dict[str, Any] | None) -> set[str]:
    """Every PNG file name the job's result mentions (the only images that may be served)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            name = Path(node).name
            if IMAGE_NAME.match(name):
                found.add(name)

    walk(result or {})
    return found


def _progress_callback(store: Store, job_id: str) -> Callable[..., None]:
    """Accept whatever the pipeline reports (a fraction and/or a stage name); throttle writes."""
    last = [0.0]

    def report(*args: Any, **kwargs: Any) -> None:
        fraction = None
        stage = None
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                fraction = float(value)
            elif isinstance(value, str):
                stage = value
        now = time.monotonic()
        if now - last[0] < 0.2 and (fraction is None or fraction < 1.0):
            return
        last[0] = now
        values: dict[str, Any] = {}
        if fraction is not None:
            values["progress"] = max(0.0, min(1.0, fraction if fraction <= 1.0 else fraction / 100.0))
        if stage is not None:
            values["stage"] = stage[:200]
        if values:
            store.update_job(job_id, **values)

    return report


class ScanRunner:
    """Runs scan jobs one at a time (a CT analysis already uses the machine's cores)."""

    def __init__(self, store: Store, scans_dir: Path, pipeline: Any = None):
        self.store = store
        self.scans_dir = scans_dir
        self.pipeline = pipeline  # anything with scan_study/write_outputs; None = hepcal.imaging.pipeline
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hepcal-scan")

    def folder(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise InputError(f"invalid job id {job_id!r}")
        return self.scans_dir / job_id

    def image_path(self, job_id: str, name: str, result: dict[str, Any] | None) -> Path | None:
        """The file of a key image, or None if the name is not one of this job's images."""
        if not IMAGE_NAME.match(name) or name not in key_images(result):
            return None
        out = (self.folder(job_id) / "out").resolve()
        for candidate in out.rglob(name):
            path = candidate.resolve()
            if out in path.parents and path.is_file() and not candidate.is_symlink():
                return path
        return None

    def submit(self, job_id: str, study: Path, kind: Kind, mask: Path | None) -> None:
        self._pool.submit(self._run, job_id, study, kind, mask)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str, study: Path, kind: Kind, mask: Path | None) -> None:
        store = self.store
        try:
            store.update_job(job_id, status="running", stage="reading the study", progress=0.02)
            if kind == "zip":
                source = extract_zip(study, self.folder(job_id) / "study")
            else:
                source = study
            pipeline = self.pipeline
            if pipeline is None:
                from hepcal.imaging import pipeline
            result = pipeline.scan_study(source, liver_mask=mask, progress=_progress_callback(store, job_id))
            out = self.folder(job_id) / "out"
            pipeline.write_outputs(result, out)
            store.update_job(job_id, status="done", stage="done", progress=1.0, result=result.to_dict())
        except ImportError:
            store.update_job(job_id, status="failed", message="CT analysis is not available in this installation (hepcal.imaging is missing)")
        except HepcalError as exc:
            store.update_job(job_id, status="failed", message=str(exc))
        except Exception:  # a bug must not leave the job "running" forever; the trace stays in the log
            log.exception("scan job %s failed", job_id)
            store.update_job(job_id, status="failed", message="the analysis failed unexpectedly; the server log has the details")


def save_upload(src: Any, dest: Path, limit: int) -> int:
    """Copy an uploaded file object to ``dest`` in chunks, refusing more than ``limit`` bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with dest.open("wb") as fh:
        while chunk := src.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                raise InputError(f"the upload is larger than {limit / 1024**2:.0f} MB (HEPCAL_MAX_UPLOAD_MB)")
            fh.write(chunk)
    return written


def typed_name(stem: str, kind: Kind) -> str:
    return stem + SUFFIX[kind]


def remove_job_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
