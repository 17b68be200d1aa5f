"""The batch on Dask: a LocalCluster in this process (fast) with the stand-in scanner."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402

from hepcal.batch import run_batch  # noqa: E402
from hepcal.batch.cluster import DaskExecutor, dask_executor  # noqa: E402
from hepcal.batch.store import ResultStore  # noqa: E402
from hepcal.errors import InputError  # noqa: E402
from hepcal.batch.worker import WorkerSetupError  # noqa: E402
from tests.batch.fakes import bare_context, broken_context, fake_task  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def test_local_cluster_runs_every_study_with_one_context_per_worker(client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    names = [f"s{i}" for i in range(10)] + ["bad_1", "crash_1"]
    for n in names:
        (src / f"{n}.nii.gz").write_text(n)
    out = tmp_path / "out"
    report = run_batch(src, out, executor=DaskExecutor(client, context_factory=bare_context), task=fake_task)
    assert (report.summary.succeeded, report.summary.failed) == (10, 2)
    recs = list(ResultStore(out).load().values())
    workers = {r["worker"] for r in recs}
    assert workers <= set(client.scheduler_info()["workers"])
    assert len({r["worker_context"] for r in recs}) == len(workers) <= 2
    again = run_batch(src, out, executor=DaskExecutor(client, context_factory=bare_context), task=fake_task)
    assert again.ran == 0 and again.plan.done == 10


def test_unreachable_scheduler_is_a_usage_error():
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"), dask_executor("tcp://127.0.0.1:1", timeout=2):
        pass


def test_workers_that_cannot_load_the_pipeline_stop_the_batch(client):
    with pytest.raises(WorkerSetupError, match="nibabel"):
        DaskExecutor(client, context_factory=broken_context)
