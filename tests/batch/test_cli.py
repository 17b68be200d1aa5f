"""``hepcal batch`` end to end on phantom studies: results, exit codes, kill and resume, Dask."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.batch.conftest import Cohort

HEPCAL = [sys.executable, "-m", "hepcal"]
ENV = {**os.environ, "COLUMNS": "200"}


def hepcal(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HEPCAL, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def parts(out: Path) -> dict[str, tuple[int, str]]:
    """Finished parts: key -> (mtime_ns, status)."""
    found = {}
    for f in (out / "parts").glob("*.json"):
        if not f.name.startswith("."):
            found[f.stem] = (f.stat().st_mtime_ns, json.loads(f.read_text())["status"])
    return found


@pytest.fixture(scope="module")
def first_run(cohort: Cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "out"
    r = hepcal("batch", str(cohort.folder), "--out", str(out), "--workers", "2", "--quiet")
    return cohort, out, r


@pytest.mark.slow
def test_folder_batch_records_every_study_and_exits_1_for_broken_ones(first_run):
    cohort, out, r = first_run
    assert r.returncode == 1, r.stderr
    studies = pd.read_parquet(out / "studies.parquet")
    assert len(studies) == cohort.total >= 20
    ok = studies[studies.status == "ok"]
    failed = studies[studies.status == "failed"]
    assert len(ok) == cohort.good and len(failed) == cohort.broken
    assert failed.error.str.len().min() > 10  # every failure says why
    errors = dict(zip(failed.source, failed.error))
    assert any("MR" in e or "not CT" in e for s, e in errors.items() if "mr" in s)
    assert "not a readable DICOM" in errors["broken/garbage.dcm"]
    assert (ok.kind == "dicom").sum() == 2 and ok[ok.kind == "dicom"].key.str.startswith("uid-").all()
    # every phantom has a calcified lesion; detection itself is tested in tests/imaging, and
    # these 3 mm phantoms are coarse, so a few misses are not the batch's concern
    assert (ok.lesion_count > 0).sum() >= cohort.good - 4
    assert ok.phase.notna().all() and (ok.seconds > 0).all()
    lesions = pd.read_parquet(out / "lesions.parquet")
    assert len(lesions) == ok.lesion_count.sum()
    # a pattern the measurements do not separate is left out of the finding (docs/imaging.md):
    # the finding then has no calcification, never an empty one
    assert lesions["finding.calcification"].map(lambda v: v is None or len(v) >= 1).all()
    assert lesions["finding.calcification"].notna().any()
    assert lesions.dx1.notna().all() and lesions.p_malignant.between(0, 1).all()
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary[summary.section == "failed"].item) == set(failed.source)
    assert int(summary.set_index(["section", "item"]).loc[("studies", "total"), "value"]) == cohort.total
    assert "Failed studies" in r.stdout and "pattern:" in r.stdout


@pytest.mark.slow
def test_rerun_skips_everything_done(first_run):
    cohort, out, _ = first_run
    before = parts(out)
    r = hepcal("batch", str(cohort.folder), "--out", str(out), "--quiet")
    assert r.returncode == 1
    assert f"{cohort.good} already done, {cohort.broken} failed before" in r.stderr.replace("\n", " ")
    assert parts(out) == before


@pytest.mark.slow
def test_killed_batch_loses_nothing_finished_and_resumes(cohort: Cohort, tmp_path):
    src = tmp_path / "in"
    for site in ("site0", "site1"):
        shutil.copytree(cohort.folder / site, src / site)
    n = len(list(src.rglob("*.nii.gz")))
    out = tmp_path / "out"
    proc = subprocess.Popen([*HEPCAL, "batch", str(src), "--out", str(out), "--workers", "1", "--quiet"], env=ENV, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(parts(out) if (out / "parts").is_dir() else {}) < 3:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes
        proc.wait(timeout=30)
    survived = parts(out)
    assert 3 <= len(survived) < n, "the batch should be killed part-way"
    r = hepcal("batch", str(src), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"{len(survived)} already done" in r.stderr
    after = parts(out)
    assert len(after) == n
    for key, stamp in survived.items():
        assert after[key] == stamp  # untouched: not re-run
    studies = pd.read_parquet(out / "studies.parquet")
    assert len(studies) == n and (studies.status == "ok").all()


@pytest.mark.slow
def test_manifest_with_masks_context_and_bad_rows(cohort: Cohort, tmp_path):
    import nibabel as nib
    import numpy as np

    from hepcal.imaging.volume import ras_to_lps
    from tests.batch.conftest import phantom

    other = phantom(0)
    far = ras_to_lps(other.volume.affine)
    far[:3, 3] += 2000.0  # another patient-space frame: no voxel of it falls in the image
    nib.save(nib.Nifti1Image(other.liver.astype(np.uint8), far), str(tmp_path / "misfit.nii.gz"))
    m = tmp_path / "manifest.csv"
    site = cohort.folder / "site0"
    rows = [
        "study,mask,mask_label,patient.age_years,history.known_primary",
        f"{site / 'p00.nii.gz'},{cohort.mask_dir / 'p00_liver.nii.gz'},1,60,none",
        f"{site / 'p00.nii.gz'},{cohort.mask_dir / 'p00_liver.nii.gz'},1,60,colorectal",
        f"{site / 'p03.nii.gz'},{tmp_path / 'misfit.nii.gz'},,,",
        f"{site / 'p06.nii.gz'},,,two hundred,",
        "nowhere.nii.gz,,,,",
    ]
    m.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    r = hepcal("batch", str(m), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 1, r.stderr
    studies = pd.read_parquet(out / "studies.parquet").set_index("row")
    assert studies.loc[2, "status"] == studies.loc[3, "status"] == "ok"
    assert studies.loc[2, "key"] != studies.loc[3, "key"]  # same study, different context
    assert studies.loc[2, "context"] == "patient.age_years=60; history.known_primary=none"
    assert studies.loc[4, "status"] == "failed" and "mask" in studies.loc[4, "error"].lower()
    assert studies.loc[5, "status"] == "failed" and "patient.age_years" in studies.loc[5, "error"]
    assert studies.loc[6, "status"] == "failed" and "no such file" in studies.loc[6, "error"]
    lesions = pd.read_parquet(out / "lesions.parquet").merge(studies.reset_index()[["key", "row"]], on="key")
    p_none = lesions[lesions.row == 2].p_malignant.max()
    p_crc = lesions[lesions.row == 3].p_malignant.max()
    assert p_crc > p_none  # the manifest's clinical context reached the assessment


def test_unknown_manifest_column_is_a_usage_error(tmp_path):
    m = tmp_path / "manifest.csv"
    m.write_text("study,age\nx.nii.gz,3\n")
    r = hepcal("batch", str(m), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "'age'" in r.stderr and "patient.age_years" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_missing_folder_is_a_usage_error(tmp_path):
    r = hepcal("batch", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "no such folder" in r.stderr


@pytest.mark.slow
def test_scheduler_and_workers_on_loopback(cohort: Cohort, tmp_path):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    src = tmp_path / "in"
    src.mkdir()
    for f in sorted((cohort.folder / "site1").glob("*.nii.gz"))[:4]:
        shutil.copy(f, src / f.name)
    (src / "empty.nii.gz").write_bytes(b"")
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file)], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(sched_file), "--host", "127.0.0.1", "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        out = tmp_path / "out"
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        r = hepcal("batch", str(src), "--out", str(out), "--scheduler", address, "--quiet")
        assert r.returncode == 1, r.stderr
        studies = pd.read_parquet(out / "studies.parquet")
        ok = studies[studies.status == "ok"]
        assert len(ok) == 4 and (studies.status == "failed").sum() == 1
        assert ok.worker.str.startswith("tcp://127.0.0.1:").all()
        assert ok.worker_context.nunique() == ok.worker.nunique() <= 2
        assert "Dask cluster" in r.stderr
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
