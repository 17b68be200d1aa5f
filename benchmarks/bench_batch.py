"""Batch throughput: studies per second with 1 and 2 local workers and on a LocalCluster (``batch.*``).

Phantom studies of realistic-ish size (1.5 mm voxels, a 150 × 250 × 330 mm field of view,
one to two calcified lesions each) are written as NIfTI once, then the same folder is run into
a fresh results folder by each executor. Two rates are reported for each: end to end (worker
start-up and the knowledge-base load included) and steady state (from the moment every
worker has finished its first study), which is what a batch of thousands sees. Scaling
efficiency is rate(2 workers) / (2 × rate(1 worker)).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import merge  # noqa: E402

from hepcal.batch import LocalExecutor, run_batch  # noqa: E402

PATTERNS = ("rim", "coarse", "central", "punctate", "septal", "dense_nodular", "amorphous", "linear")
SPACING = (1.5, 1.5, 1.5)
FOV_MM = (150.0, 250.0, 330.0)


def write_phantoms(folder: Path, n: int) -> None:
    import nibabel as nib

    from hepcal.imaging.phantom import LesionSpec, make_phantom
    from hepcal.imaging.volume import ras_to_lps

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        lesions = [LesionSpec(PATTERNS[i % len(PATTERNS)])] + ([LesionSpec(PATTERNS[(i + 3) % len(PATTERNS)])] if i % 2 else [])
        ph = make_phantom(phase=("unenhanced", "portal")[i % 2], lesions=lesions, spacing=SPACING, fov_mm=FOV_MM, seed=1000 + i)
        nib.save(nib.Nifti1Image(ph.volume.array, ras_to_lps(ph.volume.affine)), str(folder / f"study{i:03d}.nii.gz"))


def measure(studies: Path, work: Path, label: str, **kw: Any) -> dict[str, Any]:
    out = work / f"out-{label}"
    shutil.rmtree(out, ignore_errors=True)
    stamps: list[float] = []
    cpu: list[float] = []
    workers: set[str] = set()
    first_of: dict[str, float] = {}
    load_before = os.getloadavg()[0]

    def on_result(rec: dict[str, Any]) -> None:
        now = time.perf_counter()
        stamps.append(now)
        cpu.append(float(rec.get("cpu_seconds") or 0.0))
        w = str(rec.get("worker"))
        workers.add(w)
        first_of.setdefault(w, now)

    t0 = time.perf_counter()
    report = run_batch(studies, out, on_result=on_result, **kw)
    wall = time.perf_counter() - t0
    n = len(stamps)
    warm = max(first_of.values()) if first_of else t0
    after = [t for t in stamps if t > warm]
    steady = len(after) / (after[-1] - warm) if len(after) >= 2 else None
    failed = report.summary.failed
    result = {
        "studies": n,
        "failed": failed,
        "wall_s": wall,
        "studies_per_s": n / wall,
        "steady_studies_per_s": steady,
        "steady_studies": len(after),
        "mean_worker_s_per_study": report.summary.seconds / max(1, report.summary.studies),
        "mean_worker_cpu_s_per_study": sum(cpu) / max(1, len(cpu)),
        # cores the workers actually got: worker CPU seconds per wall second (≤ workers)
        "worker_cores_used": sum(cpu) / wall,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "workers_seen": len(workers),
        "executor": report.executor,
    }
    print(
        f"  {label}: {n} studies in {wall:.1f} s = {n / wall:.3f}/s end to end; steady {steady or float('nan'):.3f}/s; "
        f"workers used {result['worker_cores_used']:.2f} cores; load {load_before:.1f}; {failed} failed",
        flush=True,
    )
    return result


def main(n: int = 16) -> dict[str, Any]:
    from hepcal.batch.cluster import dask_executor

    work = Path(tempfile.mkdtemp(prefix="hepcal-bench-batch-"))
    try:
        t = time.perf_counter()
        write_phantoms(work / "studies", n)
        gen_s = time.perf_counter() - t
        size_mb = sum(f.stat().st_size for f in (work / "studies").iterdir()) / 1e6
        one = measure(work / "studies", work, "local1", executor=LocalExecutor(1))
        two = measure(work / "studies", work, "local2", executor=LocalExecutor(2))
        dask2 = measure(work / "studies", work, "dask2", executor_factory=lambda: dask_executor("local", 2))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def eff(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
        return b[key] / (2 * a[key]) if a.get(key) and b.get(key) else None

    result = {
        "phantoms": {"count": n, "spacing_mm": list(SPACING), "fov_mm": list(FOV_MM), "nifti_mb_total": round(size_mb, 1), "generation_s": gen_s},
        "local_1_worker": one,
        "local_2_workers": two,
        "local_cluster_2_workers": dask2,
        "scaling_efficiency": eff(one, two, "steady_studies_per_s"),
        "scaling_efficiency_end_to_end": eff(one, two, "studies_per_s"),
        "scaling_efficiency_local_cluster": eff(one, dask2, "steady_studies_per_s"),
        # what the same workers would give with a core each: rate per core actually received
        "scaling_efficiency_per_core_received": (
            (two["studies_per_s"] / two["worker_cores_used"]) / (one["studies_per_s"] / one["worker_cores_used"])
            if one["worker_cores_used"] and two["worker_cores_used"] else None
        ),
        "target_scaling_efficiency": 0.8,
        "cpus": os.cpu_count(),
        "note": (
            "scaling efficiency = rate(2 workers) / (2 x rate(1 worker)), steady state (after every worker's first study). "
            "Each study is single-threaded (worker CPU time = wall time when a core is free). On this 2-core machine "
            "the second worker competes with the driver and with whatever else runs (see load_average_*); "
            "worker_cores_used shows how many cores the workers actually got, and "
            "scaling_efficiency_per_core_received divides that out (1.0 = no overhead from running in parallel)."
        ),
    }
    merge("batch", result)
    print(
        f"batch: 1 worker {one['steady_studies_per_s'] or 0:.3f}/s, 2 workers {two['steady_studies_per_s'] or 0:.3f}/s, "
        f"LocalCluster(2) {dask2['steady_studies_per_s'] or 0:.3f}/s; scaling efficiency {result['scaling_efficiency'] or float('nan'):.2f}"
    )
    return result


if __name__ == "__main__":
    main()
