"""CT scan jobs: the uploaded study is analysed in a worker process, progress in the store.

A job runs in its own process (``spawn``, so nothing of the server's state is shared), under an
address-space limit (``RLIMIT_AS``, ``HEPCAL_SCAN_MEMORY_MB``) and a wall-clock limit
(``HEPCAL_SCAN_TIMEOUT_S``, with ``RLIMIT_CPU`` as a backstop): a study that needs more fails
with a message saying which limit it hit, and the server goes on. The worker sends its progress
and outcome over a pipe; a thread of the server (one job at a time) writes them to the store.

Jobs whose folder is older than ``HEPCAL_JOB_RETENTION_DAYS`` are deleted (row and folder) at
start and after each job; stored cases are not affected.

Each job owns one folder, ``<data>/scans/<job id>/``: ``upload/`` (the files as received,
renamed by their detected type), ``study/`` (an extracted DICOM series) and ``out/`` (what
``hepcal.imaging.outputs.write_outputs`` writes: findings.json, key images, overview). The
job's result is that findings.json; key images are served by file name only, and only the
names it lists.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import re
import secrets
import shutil
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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


@dataclass(frozen=True)
class JobLimits:
    """What one scan job may use; ``retention_days`` 0 keeps finished jobs forever."""

    memory_mb: int = 4096
    timeout_s: int = 1800
    retention_days: float = 7.0


_ABS_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s\\/'\"]+)+[\\/]([^\s\\/'\"]+)")


def without_paths(message: str, *roots: Path) -> str:
    """A job message with server paths removed: known folders dropped, other paths cut to their name."""
    for root in roots:
        message = message.replace(str(root) + "/", "").replace(str(root), "")
    return _ABS_PATH.sub(lambda m: m.group(1), message)


def _limit_resources(memory_mb: int, cpu_s: int) -> None:
    import resource

    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))


def _work(conn: Any, pipeline: Pipeline | None, study: Path, kind: Kind, mask: Path | None, folder: Path,
          memory_mb: int, cpu_s: int) -> None:
    """The body of a worker process: analyse one study, report over ``conn``, never raise."""
    try:
        _limit_resources(memory_mb, cpu_s)
        source = extract_zip(study, folder / "study") if kind == "zip" else study
        pipe = pipeline or imaging_pipeline()
        result = pipe.scan_study(source, liver_mask=mask, progress=lambda step, f: conn.send(("progress", step, float(f))))
        conn.send(("progress", "key images", 1.0))
        findings = pipe.write_outputs(result, folder / "out")
        write_job_viewer(result, folder / "out")  # the viewer's NIfTI files; never fails the job
        conn.send(("done", str(findings)))
    except MemoryError:
        conn.send(("failed", "memory", ""))
    except ImportError:
        traceback.print_exc()
        conn.send(("failed", "import", ""))
    except HepcalError as exc:
        conn.send(("failed", "input", str(exc)))
    except BaseException:  # a bug: the trace goes to the server's log, the user gets no detail
        traceback.print_exc()
        conn.send(("failed", "bug", ""))
    finally:
        conn.close()


class ScanRunner:
    """Runs scan jobs one at a time (a CT analysis already uses the machine's cores), each in a
    worker process under :class:`JobLimits`."""

    def __init__(self, store: Store, scans_dir: Path, pipeline: Pipeline | None = None, limits: JobLimits = JobLimits()):
        self.store = store
        self.scans_dir = scans_dir
        self.pipeline = pipeline  # None = the real one (imaging_pipeline()), loaded by the worker
        self.limits = limits
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hepcal-scan")
        self._context = multiprocessing.get_context("spawn")

    def folder(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise InputError(f"invalid job id {job_id[:40]!r}")
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

    def purge_expired(self) -> int:
        """Delete jobs (rows and folders) past the retention, and folders without a job; returns the count."""
        if self.limits.retention_days <= 0:
            return 0
        cutoff = datetime.now(timezone.utc) - timedelta(days=self.limits.retention_days)
        expired = self.store.jobs_before(cutoff)
        for job_id in expired:
            remove_job_folder(self.scans_dir / job_id)
        self.store.delete_jobs(expired)
        known = self.store.job_ids()
        stale = time.time() - 3600  # a folder without a row may be an upload still arriving
        orphans = 0
        if self.scans_dir.is_dir():
            for folder in self.scans_dir.iterdir():
                if folder.is_dir() and folder.name not in known and JOB_ID.match(folder.name) and folder.stat().st_mtime < stale:
                    remove_job_folder(folder)
                    orphans += 1
        return len(expired) + orphans

    def _run(self, job_id: str, study: Path, kind: Kind, mask: Path | None) -> None:
        store = self.store
        folder = self.folder(job_id)
        try:
            store.update_job(job_id, status="running", stage=STAGES["reading"], progress=0.02)
            outcome = self._supervise(job_id, study, kind, mask, folder)
            if outcome[0] == "done":
                findings = json.loads(Path(outcome[1]).read_text(encoding="utf-8"))
                store.update_job(job_id, status="done", stage="done", progress=1.0, result=_public(findings))
            else:
                store.update_job(job_id, status="failed", message=without_paths(outcome[1], folder, self.scans_dir))
        except Exception:  # a bug must not leave the job "running" forever; the trace stays in the log
            log.exception("scan job %s failed", job_id)
            store.update_job(job_id, status="failed", message="the analysis failed unexpectedly; the server log has the details")
        finally:
            try:
                self.purge_expired()
            except Exception:
                log.exception("cleaning up expired scan jobs failed")

    def _supervise(self, job_id: str, study: Path, kind: Kind, mask: Path | None, folder: Path) -> tuple[str, str]:
        """Run the worker process and follow it; returns ("done", findings path) or ("failed", message)."""
        lim = self.limits
        parent, child = self._context.Pipe(duplex=False)
        proc = self._context.Process(target=_work, name=f"hepcal-scan-{job_id}", daemon=True,
                                     args=(child, self.pipeline, study, kind, mask, folder, lim.memory_mb, lim.timeout_s))
        proc.start()
        child.close()
        deadline = time.monotonic() + lim.timeout_s
        report = _progress_callback(self.store, job_id)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "failed", f"the analysis took longer than the time limit of {lim.timeout_s} s (HEPCAL_SCAN_TIMEOUT_S) and was stopped"
                if not parent.poll(min(remaining, 1.0)):
                    if not proc.is_alive() and not parent.poll(0):
                        return "failed", _death(proc.exitcode, lim)
                    continue
                try:
                    message = parent.recv()
                except EOFError:
                    proc.join(5)
                    return "failed", _death(proc.exitcode, lim)
                if message[0] == "progress":
                    if message[1] == "key images":
                        self.store.update_job(job_id, stage=STAGES["key images"], progress=ANALYSIS_SHARE)
                    else:
                        report(message[1], message[2])
                elif message[0] == "done":
                    return "done", message[1]
                else:
                    return "failed", _failure(message[1], message[2], lim)
        finally:
            parent.close()
            if proc.is_alive():
                proc.kill()
            proc.join(10)


def _failure(kind: str, detail: str, lim: JobLimits) -> str:
    if kind == "memory":
        return f"the analysis needed more memory than the limit of {lim.memory_mb} MB (HEPCAL_SCAN_MEMORY_MB) and was stopped"
    if kind == "import":
        return "CT analysis is not available in this installation (hepcal.imaging is missing)"
    if kind == "input":
        return detail
    return "the analysis failed unexpectedly; the server log has the details"


def _death(exitcode: int | None, lim: JobLimits) -> str:
    """Why a worker ended without an answer (killed by the kernel or by a limit)."""
    import signal

    if exitcode is not None and -exitcode == signal.SIGXCPU:
        return f"the analysis used more processor time than the limit of {lim.timeout_s} s (HEPCAL_SCAN_TIMEOUT_S) and was stopped"
    if exitcode is not None and -exitcode in (signal.SIGKILL, signal.SIGSEGV):
        return f"the analysis process was stopped (most often by the memory limit of {lim.memory_mb} MB, HEPCAL_SCAN_MEMORY_MB)"
    return "the analysis process ended without an answer; the server log has the details"


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
