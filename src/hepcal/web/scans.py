"""CT scan jobs: the uploaded study is analysed in a background thread, progress in the store.

Each job owns one folder, ``<data>/scans/<job id>/``: ``upload/`` (the files as received,
renamed by their detected type), ``study/`` (an extracted DICOM series) and ``out/`` (what
``hepcal.imaging.outputs.write_outputs`` writes: findings.json, key images, overview). The
job's result is that findings.json; key images are served by file name only, and only the
names it lists.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hepcal.errors import HepcalError, InputError
from hepcal.web.store import Store
from hepcal.web.uploads import SUFFIX, Kind, extract_zip
from hepcal.web.viewer_files import write_job_viewer

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]  # scan_study's hook: (step name, fraction 0..1)
ANALYSIS_SHARE = 0.9  # of the progress bar; the key images take the rest
# The pipeline's step names, as the job page says them.
STAGES = {
    "reading": "reading the study",
    "liver": "outlining the liver",
    "phase": "estimating the contrast phase",
    "detection": "finding dense foci",
    "characterisation": "describing each lesion",
    "assessment": "assessing each lesion",
    "done": "analysis finished",
    "key images": "drawing the key images",
}
IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.png$")
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def new_job_id() -> str:
    return secrets.token_urlsafe(12)


class Pipeline(Protocol):
    """What a scan job calls: ``hepcal.imaging.pipeline.scan_study`` and
    ``hepcal.imaging.outputs.write_outputs`` (the fake of the web tests has the same signatures).
    """

    def scan_study(self, path: str | Path, *, liver_mask: str | Path | None = ..., progress: Progress | None = ...) -> Any: ...

    def write_outputs(self, result: Any, out_dir: str | Path) -> Path: ...


@dataclass(frozen=True)
class ImagingPipeline:
    """The real CT pipeline's two entry points, bound together as one ``Pipeline``."""

    scan_study: Callable[..., Any]
    write_outputs: Callable[..., Path]


def imaging_pipeline() -> ImagingPipeline:
    """The installed CT pipeline; raises ImportError when ``hepcal.imaging`` (or its extra) is missing."""
    from hepcal.imaging.outputs import write_outputs
    from hepcal.imaging.pipeline import scan_study

    return ImagingPipeline(scan_study=scan_study, write_outputs=write_outputs)


def imaging_available() -> bool:
    """Whether the CT pipeline is installed in this build."""
    try:
        imaging_pipeline()
    except ImportError:
        return False
    return True


def key_images(result: dict[str, Any] | None) -> set[str]:
    """The PNG names the job's findings.json lists (``lesions[].key_image``, ``overview_image``).

    Only these may be served: a name elsewhere in the result (a study path, a note) is not an
    image of the job.
    """
    result = result or {}
    names = [lesion.get("key_image") for lesion in result.get("lesions") or [] if isinstance(lesion, dict)]
    names.append(result.get("overview_image"))
    return {n for n in names if isinstance(n, str) and IMAGE_NAME.match(n)}


def lesion_case(lesion: dict[str, Any]) -> dict[str, Any]:
    """The case a lesion opens with in the assess page.

    findings.json's ``case`` is the extracted ``finding`` plus any context given to the scan
    (``overrides``); an older or partial result without it opens with the finding alone.
    """
    case = lesion.get("case")
    if isinstance(case, dict) and isinstance(case.get("finding"), dict):
        return case
    return {"finding": dict(lesion.get("finding") or {})}


def _progress_callback(store: Store, job_id: str) -> Progress:
    """The ``progress(step, fraction)`` hook of ``scan_study``, written to the job row.

    The pipeline's fraction covers the analysis; the key images come after it, so the bar
    reaches ``ANALYSIS_SHARE`` when ``scan_study`` reports 1.0.
    """

    def report(step: str, fraction: float) -> None:
        share = max(0.0, min(1.0, float(fraction))) * ANALYSIS_SHARE
        store.update_job(job_id, progress=max(0.02, share), stage=STAGES.get(step, step)[:200])

    return report


def _public(findings: dict[str, Any]) -> dict[str, Any]:
    """findings.json as shown to users: the study's file name instead of a server path."""
    study = findings.get("study")
    if isinstance(study, dict) and isinstance(study.get("source"), str):
        findings = {**findings, "study": {**study, "source": Path(study["source"]).name}}
    return findings


class ScanRunner:
    """Runs scan jobs one at a time (a CT analysis already uses the machine's cores)."""

    def __init__(self, store: Store, scans_dir: Path, pipeline: Pipeline | None = None):
        self.store = store
        self.scans_dir = scans_dir
        self.pipeline = pipeline  # None = the real one (imaging_pipeline()), loaded by the first job
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
        candidate = out / name
        if candidate.is_symlink() or not candidate.is_file() or candidate.resolve().parent != out:
            return None
        return candidate.resolve()

    def submit(self, job_id: str, study: Path, kind: Kind, mask: Path | None) -> None:
        self._pool.submit(self._run, job_id, study, kind, mask)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str, study: Path, kind: Kind, mask: Path | None) -> None:
        store = self.store
        try:
            store.update_job(job_id, status="running", stage=STAGES["reading"], progress=0.02)
            if kind == "zip":
                source = extract_zip(study, self.folder(job_id) / "study")
            else:
                source = study
            pipeline = self.pipeline or imaging_pipeline()
            result = pipeline.scan_study(source, liver_mask=mask, progress=_progress_callback(store, job_id))
            store.update_job(job_id, stage=STAGES["key images"], progress=ANALYSIS_SHARE)
            findings_path = pipeline.write_outputs(result, self.folder(job_id) / "out")
            write_job_viewer(result, self.folder(job_id) / "out")
            findings = json.loads(Path(findings_path).read_text(encoding="utf-8"))
            store.update_job(job_id, status="done", stage="done", progress=1.0, result=_public(findings))
        except ImportError:
            log.warning("scan job %s: the CT pipeline cannot be imported", job_id, exc_info=True)
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
