"""Where studies run: a local process pool (here) or a Dask cluster (:mod:`hepcal.batch.cluster`).

Every executor take a picklable ``task(study) -> record`` and yield ``(study, record)`` as
studies finish, keeping only a bounded window of studies in flight so that a batch of fifty
thousand never queues fifty thousand futures. A worker that dies (out of memory, a crash in
native code) does not end the batch: the studies it held are run again one at a time, so the
study that kills a worker is identified and recorded as failed, and the others complete.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from hepcal.batch.study import Study
from hepcal.batch.worker import ContextFactory, WorkerSetupError, failed_record, init_process
from hepcal.errors import InputError

logger = logging.getLogger(__name__)

Task = Callable[[Study], dict[str, Any]]
WORKER_DIED = "the worker process died while scanning this study (out of memory or a crash in native code)"


class Executor(Protocol):
    description: str
    workers: int

    def run(self, task: Task, studies: Iterable[Study]) -> Iterator[tuple[Study, dict[str, Any]]]: ...


class LocalExecutor:
    """A pool of worker processes on this machine, each with its own :class:`WorkerContext`."""

    def __init__(self, workers: int = 1, *, context_factory: ContextFactory | None = None, window: int | None = None):
        if workers < 1:
            raise InputError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.context_factory = context_factory
        self.window = window or 2 * workers
        self.description = f"{workers} local worker process(es)"

    def _pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the driver may hold threads (progress bar, Dask) that fork would copy
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_process,
            initargs=(self.context_factory,),
        )

    def run(self, task: Task, studies: Iterable[Study]) -> Iterator[tuple[Study, dict[str, Any]]]:
        pending = iter(studies)
        suspects: deque[Study] = deque()  # held by a worker that died: rerun alone
        requeued: deque[Study] = deque()  # never started because the pool broke
        inflight: dict[Future[dict[str, Any]], Study] = {}
        pool = self._pool()

        def next_study() -> Study | None:
            if suspects:
                return suspects.popleft()
            if requeued:
                return requeued.popleft()
            return next(pending, None)

        try:
            while True:
                broken = False
                limit = 1 if suspects else self.window
                while len(inflight) < limit:
                    study = next_study()
                    if study is None:
                        break
                    try:
                        inflight[pool.submit(task, study)] = study
                    except BrokenProcessPool:
                        requeued.appendleft(study)
                        broken = True
                        break
                if not inflight and not broken:
                    return
                alone = len(inflight) == 1
                done, _ = wait(inflight, return_when=FIRST_COMPLETED) if inflight else (set(), set())
                for fut in done:
                    study = inflight.pop(fut)
                    try:
                        yield study, fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            yield study, failed_record(study, WORKER_DIED, "WorkerDied")
                        else:
                            suspects.append(study)
                    except WorkerSetupError:
                        raise
                    except Exception as exc:  # e.g. a study that cannot be pickled
                        yield study, failed_record(study, f"{type(exc).__name__}: {exc}", type(exc).__name__)
                if broken:
                    # every future of a broken pool fails: collect them all, then start afresh
                    for fut, study in list(inflight.items()):
                        try:
                            yield study, fut.result()
                        except Exception:
                            suspects.append(study)
                    inflight.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    logger.warning("a worker process died; %d study(ies) will be rerun one at a time", len(suspects))
                    pool = self._pool()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
