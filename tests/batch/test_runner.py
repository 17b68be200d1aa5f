"""The batch machinery with a stand-in scanner: resume, retry, isolation, once-per-worker."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hepcal.batch import LocalExecutor, run_batch
from hepcal.batch.store import ResultStore
from hepcal.errors import InputError
from hepcal.batch.worker import WorkerSetupError
from tests.batch.fakes import bare_context, broken_context, fake_task

NAMES = ["a", "b", "c", "d", "e", "mal_1", "bad_1", "crash_1"]


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "studies"
    src.mkdir()
    for n in NAMES:
        (src / f"{n}.nii.gz").write_text(n)
    return src


def _run(src, out, workers=1, **kw):
    return run_batch(src, out, executor=LocalExecutor(workers, context_factory=bare_context), task=fake_task, **kw)


def test_failures_are_recorded_and_do_not_stop_the_batch(folder, tmp_path):
    out = tmp_path / "out"
    report = _run(folder, out, workers=2)
    s = report.summary
    assert (s.studies, s.succeeded, s.failed) == (8, 6, 2)
    studies = pd.read_parquet(out / "studies.parquet").set_index("source")
    assert studies.loc["bad_1.nii.gz", "status"] == "failed"
    assert "not a CT volume" in studies.loc["bad_1.nii.gz", "error"]
    assert studies.loc["crash_1.nii.gz", "error"] == "RuntimeError: segmenter exploded"
    assert studies.loc["a.nii.gz", "lesion_count"] == 1 and studies.loc["a.nii.gz", "phase"] == "portal"
    lesions = pd.read_parquet(out / "lesions.parquet")
    assert len(lesions) == 6
    assert list(lesions.loc[0, "finding.calcification"]) == ["rim"]
    flagged = lesions[lesions["malignancy_not_excluded"]]
    assert flagged["source"].tolist() == ["mal_1.nii.gz"]
    assert s.not_excluded == [("mal_1.nii.gz", 0.3, 1)]
    summary = pd.read_csv(out / "summary.csv")
    failed = summary[summary.section == "failed"]
    assert sorted(failed["item"]) == ["bad_1.nii.gz", "crash_1.nii.gz"]


def test_rerun_skips_done_and_failed_and_retry_failed_reruns_only_failed(folder, tmp_path):
    out = tmp_path / "out"
    _run(folder, out)
    again = _run(folder, out)
    assert again.ran == 0 and again.plan.done == 6 and again.plan.failed_before == 2
    (folder / "new.nii.gz").write_text("new")
    more = _run(folder, out)
    assert more.ran == 1 and more.summary.studies == 9
    retried = _run(folder, out, retry_failed=True)
    assert retried.ran == 2 and retried.plan.done == 7


def test_changed_file_content_is_a_new_study(folder, tmp_path):
    out = tmp_path / "out"
    _run(folder, out)
    (folder / "a.nii.gz").write_text("a, rescanned")
    report = _run(folder, out)
    assert report.ran == 1 and report.summary.studies == 8


def test_duplicates_run_once(folder, tmp_path):
    (folder / "copy_of_a.nii.gz").write_text("a")
    report = _run(folder, tmp_path / "out")
    assert report.summary.studies == 8
    assert report.plan.duplicates == [("copy_of_a.nii.gz", "a.nii.gz")] or report.plan.duplicates == [("a.nii.gz", "copy_of_a.nii.gz")]


def test_context_is_built_once_per_worker_not_per_study(folder, tmp_path):
    out = tmp_path / "out"
    _run(folder, out, workers=2)
    records = ResultStore(out).load().values()
    ran = [r for r in records if r.get("worker_context")]
    assert len(ran) == 8
    contexts = {r["worker_context"] for r in ran}
    workers = {r["worker"] for r in ran}
    assert len(contexts) == len(workers) <= 2
    for w in workers:  # each worker used exactly one context for all its studies
        assert len({r["worker_context"] for r in ran if r["worker"] == w}) == 1


def test_a_worker_that_dies_fails_only_its_study(folder, tmp_path):
    (folder / "die_1.nii.gz").write_text("die")
    report = _run(folder, tmp_path / "out", workers=2)
    assert report.summary.succeeded == 6
    errors = dict(report.summary.failures)
    assert "worker process died" in errors["die_1.nii.gz"]
    assert set(errors) == {"die_1.nii.gz", "bad_1.nii.gz", "crash_1.nii.gz"}


def test_parts_are_complete_json_and_tmp_files_are_ignored(folder, tmp_path):
    out = tmp_path / "out"
    _run(folder, out)
    (out / "parts" / ".sha256-x.json.123.tmp").write_text("{trunc")
    (out / "parts" / "sha256-broken.json").write_text("{trunc")
    parts = ResultStore(out).load()
    assert len(parts) == 8
    for rec in parts.values():
        assert rec["status"] in {"ok", "failed"}
        json.dumps(rec)
    meta = json.loads((out / "batch.json").read_text())
    assert meta["studies"] == 8 and meta["ran"] == 8


def test_out_equal_to_input_is_a_usage_error(folder):
    with pytest.raises(InputError, match="input folder itself"):
        _run(folder, folder)


def test_results_inside_the_input_folder_are_not_studies(folder):
    report = _run(folder, folder / "results")
    again = _run(folder, folder / "results")
    assert report.summary.studies == again.summary.studies == 8


def test_empty_folder_is_a_usage_error(tmp_path):
    (tmp_path / "in").mkdir()
    with pytest.raises(InputError, match="no studies found"):
        _run(tmp_path / "in", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_local_workers_that_cannot_load_the_pipeline_stop_the_batch(folder, tmp_path):
    ex = LocalExecutor(1, context_factory=broken_context)
    with pytest.raises(WorkerSetupError, match="nibabel"):
        run_batch(folder, tmp_path / "out", executor=ex, task=fake_task)
    # no study was blamed for the environment
    assert ResultStore(tmp_path / "out").load() == {}
