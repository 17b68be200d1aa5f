"""Running a batch on Dask: a LocalCluster, or an existing cluster on many machines.

The workers need hepcal installed and must see the study files at the same paths (a shared
filesystem); results travel back to the driver, which alone writes the results folder.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from hepcal.batch.executors import Task
from hepcal.batch.study import Study
from hepcal.batch.worker import PLUGIN_NAME, ContextFactory, WorkerContext, WorkerSetupError, failed_record
from hepcal.errors import InputError


class ContextPlugin(WorkerPlugin):
    """Builds the :class:`WorkerContext` once per Dask worker, when the worker joins."""

    name = PLUGIN_NAME

    def __init__(self, factory: ContextFactory | None = None):
        self.factory = factory
        self.context: WorkerContext | None = None

    def setup(self, worker: Any) -> None:
        self.context = (self.factory or WorkerContext.create)()

    def teardown(self, worker: Any) -> None:
        self.context = None


class DaskExecutor:
    """Studies as tasks on a ``distributed`` cluster; results come back to this process."""

    def __init__(self, client: Client, *, context_factory: ContextFactory | None = None, window: int | None = None):
        self.client = client
        try:
            client.register_plugin(ContextPlugin(context_factory), name=PLUGIN_NAME)
        except Exception as exc:  # raised on a worker: hepcal missing or broken there
            raise WorkerSetupError(f"the Dask workers could not load the knowledge base and imaging pipeline ({type(exc).__name__}: {exc}); install the same hepcal on every worker") from None
        nthreads = client.nthreads()
        threads = sum(nthreads.values()) or 1
        self.workers = threads
        self.window = window or max(4, 2 * threads)
        self.description = f"Dask cluster at {client.scheduler.address} ({len(nthreads)} worker(s), {threads} thread(s))"

    def run(self, task: Task, studies: Iterable[Study]) -> Iterator[tuple[Study, dict[str, Any]]]:
        pending = iter(studies)
        owner: dict[str, Study] = {}
        queue = as_completed()

        def submit() -> bool:
            study = next(pending, None)
            if study is None:
                return False
            fut = self.client.submit(task, study, key=f"hepcal-study-{uuid.uuid4().hex}", pure=False)
            owner[fut.key] = study
            queue.add(fut)
            return True

        for _ in range(self.window):
            if not submit():
                break
        try:
            for fut in queue:
                study = owner.pop(fut.key)
                try:
                    record = fut.result()
                except WorkerSetupError:
                    raise
                except Exception as exc:  # KilledWorker after the cluster's retries, lost connection…
                    record = failed_record(study, f"{type(exc).__name__}: {exc}", type(exc).__name__)
                fut.release()
                yield study, record
                submit()
        finally:
            for fut in list(queue.futures):
                fut.cancel()


@contextlib.contextmanager
def dask_executor(scheduler: str, workers: int = 2, *, context_factory: ContextFactory | None = None, timeout: float = 20.0) -> Iterator[DaskExecutor]:
    """A :class:`DaskExecutor` on ``scheduler`` (an address) or on a new LocalCluster (``local``)."""
    if scheduler == "local":
        if workers < 1:
            raise InputError(f"--workers must be at least 1, got {workers}")
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            yield DaskExecutor(client, context_factory=context_factory)
        return
    try:
        client = Client(scheduler, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); give its address, e.g. tcp://host:8786, or 'local'") from None
    with client:
        yield DaskExecutor(client, context_factory=context_factory)
