"""CT pipeline against known truth (``ct_truth.*`` in bench-results.json).

The whole pipeline (built-in liver, automatic phase) on synthetic studies with lesions of every
pattern: 4 contrast phases × 5 seeds × (4 studies with the twelve patterns + 1 with none), 1.5 mm
voxels, so 20 lesions of each pattern (one error in twenty still reads 95 %). Writes detection
sensitivity per focus, false-positive lesions per study, accuracy per pattern and the confusion
matrix, per phase and overall; ``docs/imaging.md`` reports them. The phases run in parallel
processes, one per core.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import merge  # noqa: E402

from hepcal.imaging.evaluation import Evaluation, evaluate_phantoms  # noqa: E402

PHASES = ("unenhanced", "arterial", "portal", "delayed")
SEEDS = (0, 1, 2, 3, 4)


def _phase(phase: str) -> Evaluation:
    return evaluate_phantoms([phase], SEEDS)


def main() -> dict:
    t0 = time.perf_counter()
    total = Evaluation()
    per_phase = {}
    with ProcessPoolExecutor(max_workers=min(len(PHASES), os.cpu_count() or 1)) as pool:
        for phase, ev in zip(PHASES, pool.map(_phase, PHASES)):
            per_phase[phase] = {k: v for k, v in ev.to_dict().items() if k != "confusion"}
            total.add(ev)
            print(f"  {phase}: sensitivity {ev.sensitivity:.3f}, FP/study {ev.fp_per_study:.3f}", flush=True)
    results = {
        "studies": total.studies,
        "seeds": list(SEEDS),
        "spacing_mm": [1.5, 1.5, 1.5],
        **total.to_dict(),
        "per_phase": per_phase,
        "seconds": round(time.perf_counter() - t0, 1),
        "targets": {"sensitivity": 0.98, "fp_lesions_per_study": 0.1, "pattern_accuracy": 0.95},
    }
    merge("ct_truth", results)
    acc = ", ".join(f"{p} {a:.0%}" for p, a in results["pattern_accuracy"].items() if a is not None)
    print(f"ct_truth: {total.studies} studies, sensitivity {total.sensitivity:.3f}, FP/study {total.fp_per_study:.3f}; {acc}")
    return results


if __name__ == "__main__":
    main()
