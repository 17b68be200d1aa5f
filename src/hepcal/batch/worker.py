"""The worker side: what runs once per worker, and what runs once per study.

Anything heavy (the knowledge base and its network, the liver segmenter, the imports of the
imaging stack) lives in a :class:`WorkerContext` built once per worker: by the process pool's
initializer locally, by a ``distributed`` worker plugin on a Dask cluster. :func:`run_study`
never raises for a study's own problem: a broken study becomes a failed outcome carrying its
error, so one bad file cannot stop a batch of thousands.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hepcal import __version__
from hepcal.batch.rows import lesion_rows, study_fields
from hepcal.batch.study import Study
from hepcal.errors import HepcalError

logger = logging.getLogger(__name__)

PLUGIN_NAME = "hepcal-batch-context"


class WorkerSetupError(HepcalError):
    """A worker could not load what every study needs: the batch stops (no study is blamed)."""


@dataclass
class WorkerContext:
    """Per-worker state, built once and reused for every study the worker runs."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    created: float = field(default_factory=time.time)
    resources: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls) -> WorkerContext:
        """Load what every study needs, once: knowledge base, network, imaging stack."""
        ctx = cls()
        from hepcal.knowledge import load
        from hepcal.reasoning import network

        kb = load()
        network(kb)  # built and cached for every assessment this worker makes
        ctx.resources["kb"] = kb
        ctx.resources.update(_imaging_resources())
        return ctx

    @property
    def kb_version(self) -> str | None:
        kb = self.resources.get("kb")
        if kb is None:
            return None
        from hepcal.reasoning.network import network

        return network(kb).version


def _imaging_resources() -> dict[str, Any]:
    """Import the imaging pipeline and build the liver segmenters now, paid once per worker.

    The segmenter chain is the pipeline's default (TotalSegmentator when its weights are on
    disk, else the built-in method); building it here means a model is loaded once, not per study.
    """
    from hepcal.imaging import pipeline
    from hepcal.imaging.liver import BuiltinLiverSegmenter, TotalSegmentatorSegmenter

    return {"scan_study": pipeline.scan_study, "segmenters": (TotalSegmentatorSegmenter(), BuiltinLiverSegmenter())}


# ---------------------------------------------------------------------- one context per worker

_process_context: WorkerContext | None = None
_setup_error: str | None = None
ContextFactory = Callable[[], WorkerContext]


def init_process(factory: ContextFactory | None = None) -> None:
    """Process-pool initializer: build this process's context before its first study.

    A failure is kept and raised as :class:`WorkerSetupError` by the first study, because an
    initializer that raises only breaks the pool without saying why.
    """
    global _process_context, _setup_error
    try:
        _process_context = (factory or WorkerContext.create)()
    except Exception as exc:
        _setup_error = f"{type(exc).__name__}: {exc}"


def current_context(factory: ContextFactory | None = None) -> WorkerContext:
    """The context of the worker running this code, created on first use if none was set up."""
    global _process_context
    try:
        from distributed import get_worker

        plugin = get_worker().plugins.get(PLUGIN_NAME)
        if plugin is not None:
            return plugin.context  # type: ignore[no-any-return]
    except (ImportError, ValueError):
        pass  # not inside a Dask worker
    if _process_context is None and _setup_error is None:
        init_process(factory)
    if _process_context is None:
        raise WorkerSetupError(f"a worker could not load the knowledge base and imaging pipeline ({_setup_error})")
    return _process_context


def worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------------------- one study

def scan(study: Study, ctx: WorkerContext) -> dict[str, Any]:
    """Scan and assess one study; returns the findings.json content of the CT pipeline."""
    scan_study = ctx.resources["scan_study"]
    result = scan_study(
        study.path,
        liver_mask=study.mask,
        liver_label=study.mask_label,
        overrides=study.overrides,
        series=study.series_uid,
        segmenters=ctx.resources.get("segmenters"),
    )
    return result.to_dict()  # type: ignore[no-any-return]


def base_record(study: Study) -> dict[str, Any]:
    return {
        "key": study.key,
        "study_key": study.study_key,
        "source": study.source,
        "kind": study.kind,
        "path": study.path,
        "series_uid": study.series_uid,
        "row": study.row,
        "mask": study.mask,
        "mask_label": study.mask_label,
        "context": list(study.overrides),
        "hepcal_version": __version__,
    }


def failed_record(study: Study, error: str, error_type: str = "InputError", **extra: Any) -> dict[str, Any]:
    """The outcome of a study that could not be done (by the worker or before dispatch)."""
    now = time.time()
    return {
        **base_record(study),
        "status": "failed",
        "error": error,
        "error_type": error_type,
        "lesion_count": None,
        "phase": None,
        "seconds": extra.pop("seconds", 0.0),
        "started_at": extra.pop("started_at", now),
        "finished_at": now,
        "lesions": [],
        **extra,
    }


def run_study(study: Study, scanner: Callable[[Study, WorkerContext], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Process one study on the current worker; never raises for the study's own faults."""
    ctx = current_context()
    who = {"worker": worker_name(), "worker_context": ctx.id, "kb_version": ctx.kb_version}
    started = time.time()
    t0 = time.perf_counter()
    c0 = time.process_time()
    try:
        result = (scanner or scan)(study, ctx)
    except HepcalError as exc:
        return failed_record(
            study, str(exc), type(exc).__name__, seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0,
            started_at=started, failed_check=getattr(exc, "check", None), **who,
        )
    except Exception as exc:  # a crash inside one study must not end the batch
        logger.info("study %s crashed", study.source, exc_info=True)
        return failed_record(
            study,
            f"{type(exc).__name__}: {exc}",
            type(exc).__name__,
            seconds=time.perf_counter() - t0,
            cpu_seconds=time.process_time() - c0,
            started_at=started,
            traceback=traceback.format_exc(limit=8),
            **who,
        )
    lesions = lesion_rows(result)
    return {
        **base_record(study),
        "status": "ok",
        "error": None,
        "error_type": None,
        **study_fields(result),
        "lesion_count": len(lesions),
        "seconds": time.perf_counter() - t0,
        # CPU time of this worker process: shows when workers wait for a core (seconds >> cpu)
        "cpu_seconds": time.process_time() - c0,
        "started_at": started,
        "finished_at": time.time(),
        "lesions": lesions,
        **who,
    }
