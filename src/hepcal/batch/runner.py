"""Running a batch: plan what to do, skip what is done, run the rest, keep the tables current.

:func:`plan` reads the input (a folder or a manifest) and decides, study by study, whether it
is already done, failed before (retried only when asked) or still to run. :func:`run_batch`
sends the studies to an executor, writes each outcome as soon as it arrives and rebuilds the
tables periodically and at the end, even when interrupted.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepcal import __version__
from hepcal.batch.dicomweb import DicomwebQuery, find_studies, run_fetched
from hepcal.batch.discover import discover
from hepcal.batch.executors import Executor, LocalExecutor, Task
from hepcal.batch.keys import DigestCache
from hepcal.batch.manifest import read_manifest
from hepcal.batch.rows import malignancy_threshold
from hepcal.batch.store import ResultStore
from hepcal.batch.study import Study
from hepcal.batch.summary import Summary
from hepcal.batch.worker import failed_record, run_study
from hepcal.errors import InputError

#: Seconds between rebuilds of the tables during a run (longer if a rebuild itself is slow).
REBUILD_EVERY = 30.0


@dataclass
class Plan:
    """The studies of one input, and what this run will do with each."""

    studies: list[Study]
    to_run: list[Study]
    to_record: list[Study]  # could not be prepared: recorded as failed without a worker
    done: int = 0
    failed_before: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    out: Path
    plan: Plan
    ran: int
    seconds: float
    summary: Summary
    executor: str
    interrupted: bool = False

    @property
    def rate(self) -> float:
        """Studies per second over the studies this run processed."""
        return self.ran / self.seconds if self.seconds > 0 else 0.0


def read_input(source: str | Path | DicomwebQuery, out: Path, cache: DigestCache) -> tuple[list[Study], list[str]]:
    if isinstance(source, DicomwebQuery):
        return find_studies(source), []
    p = Path(source)
    if p.suffix.lower() == ".csv":
        return read_manifest(p, cache=cache), []
    found = discover(p, exclude=out, cache=cache)
    return found.studies, found.ignored


def plan(source: str | Path | DicomwebQuery, out: str | Path, existing: Mapping[str, Mapping[str, Any]], *, retry_failed: bool = False, cache: DigestCache | None = None) -> Plan:
    """Decide what to run; ``existing`` holds the outcomes already recorded, by key."""
    studies, ignored = read_input(source, Path(out), cache or DigestCache(None))
    unique: dict[str, Study] = {}
    duplicates = []
    for s in studies:
        if s.key in unique:
            duplicates.append((s.source, unique[s.key].source))
        else:
            unique[s.key] = s
    p = Plan(studies=list(unique.values()), to_run=[], to_record=[], duplicates=duplicates, ignored=ignored)
    for s in p.studies:
        prior = existing.get(s.key)
        if prior is not None and prior.get("status") == "ok":
            p.done += 1
        elif prior is not None and not retry_failed:
            p.failed_before += 1
        elif s.problem is not None:
            p.to_record.append(s)
        else:
            p.to_run.append(s)
    return p


def run_batch(
    source: str | Path | DicomwebQuery,
    out: str | Path,
    *,
    executor: Executor | None = None,
    executor_factory: Callable[[], AbstractContextManager[Executor]] | None = None,
    workers: int = 1,
    retry_failed: bool = False,
    task: Task | None = None,
    on_start: Callable[[Plan], None] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    rebuild_every: float = REBUILD_EVERY,
) -> BatchReport:
    """Scan and assess every study of ``source`` (a folder, a .csv manifest or a DICOMweb query) into ``out``.

    Studies already done in ``out`` are skipped; failed ones are retried only with
    ``retry_failed``. A study's own failure is recorded, never raised. The executor is
    ``executor``, else one entered from ``executor_factory`` (only when there is work, so a
    cluster is not started for nothing), else a :class:`LocalExecutor` of ``workers``.

    Raises
    ------
    InputError
        For usage mistakes found before anything runs (no such folder, bad manifest column).
    """
    out_dir = Path(out)
    if isinstance(source, DicomwebQuery):
        task = task or run_fetched  # each study is fetched by the worker that scans it
    elif Path(source).resolve() == out_dir.resolve():
        raise InputError(f"--out {out_dir} is the input folder itself; give a separate folder for the results")
    cache = DigestCache(out_dir / "keys.json")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder; --out must be a folder for the results")
    existing = ResultStore.peek(out_dir)
    the_plan = plan(source, out_dir, existing, retry_failed=retry_failed, cache=cache)
    if not the_plan.studies:
        raise InputError(f"{source}: no studies found; expected NIfTI (.nii, .nii.gz), .zip or DICOM files, or manifest rows")
    store = ResultStore(out_dir)
    cache.save()
    records = dict(existing)
    threshold = malignancy_threshold()
    if on_start is not None:
        on_start(the_plan)

    started = time.perf_counter()
    ran = 0
    interrupted = False
    last_rebuild = time.monotonic()
    rebuild_cost = 0.0
    description = "nothing to run"

    def tables() -> Summary:
        return store.write_tables((records[s.key] for s in the_plan.studies if s.key in records), threshold)

    def record(rec: dict[str, Any]) -> None:
        nonlocal last_rebuild, rebuild_cost
        store.write(rec)
        records[rec["key"]] = rec
        if on_result is not None:
            on_result(rec)
        if time.monotonic() - last_rebuild >= max(rebuild_every, 10 * rebuild_cost):
            t = time.monotonic()
            tables()
            rebuild_cost = time.monotonic() - t
            last_rebuild = time.monotonic()

    try:
        for s in the_plan.to_record:
            record(failed_record(s, s.problem or "could not be prepared"))
        if the_plan.to_run:
            with contextlib.ExitStack() as stack:
                if executor is not None:
                    ex = executor
                elif executor_factory is not None:
                    ex = stack.enter_context(executor_factory())
                else:
                    ex = LocalExecutor(workers)
                description = ex.description
                for _, rec in ex.run(task or run_study, the_plan.to_run):
                    ran += 1
                    record(rec)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        seconds = time.perf_counter() - started
        summary = tables()
        store.write_meta(
            {
                "input": str(source),
                "hepcal_version": __version__,
                "executor": description,
                "studies": len(the_plan.studies),
                "ran": ran,
                "skipped_done": the_plan.done,
                "skipped_failed": the_plan.failed_before,
                "duplicates": the_plan.duplicates,
                "ignored": the_plan.ignored,
                "seconds": seconds,
                "interrupted": interrupted,
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    return BatchReport(out_dir, the_plan, ran, seconds, summary, description, interrupted)
