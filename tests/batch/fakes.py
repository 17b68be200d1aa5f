"""Stand-ins for the CT pipeline, so the batch machinery is tested without scanning images.

They are module-level functions so that worker processes (spawned, or Dask workers) can
import them by name.
"""

from __future__ import annotations

import os
import time
from typing import Any

from hepcal.batch.study import Study
from hepcal.batch.worker import WorkerContext
from hepcal.errors import InputError


def bare_context() -> WorkerContext:
    """A context without the heavy resources: what the fake scanner needs."""
    return WorkerContext()


def fake_scan(study: Study, ctx: WorkerContext) -> dict[str, Any]:
    """A scan whose result depends only on the file name: ``bad`` fails, ``crash`` raises."""
    name = os.path.basename(study.path)
    delay = float(os.environ.get("HEPCAL_FAKE_SCAN_DELAY", "0"))
    if delay:
        time.sleep(delay)
    if "bad" in name:
        raise InputError(f"{name}: not a CT volume")
    if "crash" in name:
        raise RuntimeError("segmenter exploded")
    if "die" in name:
        os._exit(9)  # a worker dying hard, like the kernel's OOM killer would make it
    return {
        "phase": {"used": "portal", "detected": {"phase": "portal", "aorta_hu": 160.0}},
        "lesions": [
            {
                "finding": {"calcification": ["rim"], "size_mm": 30.0, "modality": ["ct"]},
                "assessment": {
                    "differential": [{"id": "hydatid_cyst", "name": "Hydatid cyst", "probability": 0.6}, {"id": "metastasis", "name": "Metastasis", "probability": 0.3}],
                    "malignancy_probability": 0.3 if "mal" in name else 0.01,
                    "doubtful": True,
                    "recommendation": {"action": "biopsy" if "mal" in name else "follow_up_imaging", "rule": "doubtful"},
                },
            }
        ],
    }


def fake_task(study: Study) -> dict[str, Any]:
    from hepcal.batch.worker import run_study

    return run_study(study, scanner=fake_scan)


def broken_context() -> WorkerContext:
    """A worker whose environment lacks what every study needs."""
    raise ImportError("No module named 'nibabel'")
