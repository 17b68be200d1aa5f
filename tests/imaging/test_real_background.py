"""The short real-background benchmark (part of ``make test``; the full one is ``make bench``).

Lesions of every pattern, drawn from a benchmark seed, written into both real example studies
at their own resolution and thickened to 5 mm slices, scanned and scored.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.imaging.conftest import example

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_real.py"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_real", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    import sys

    sys.path.insert(0, str(BENCH.parent))
    spec.loader.exec_module(module)
    return module


def test_short_real_background_benchmark():
    example("ct_small.nii.gz")  # skips, with the reason, when ../shared/data is absent
    example("ct_dicom")
    bench = _bench()
    assert not set(bench.SHORT_SEEDS) & set(bench.DESIGN_SEEDS)
    r = bench.run(bench.SHORT_SEEDS)
    # every pattern drawn in both studies, at both resolutions
    assert set(r["confusion"]) | set(r["not_visible"]) == set(bench.PATTERNS)
    assert r["lesions"] >= 36, r
    assert r["fp_lesions_per_study"] == 0.0, r
    assert r["sensitivity"] >= SHORT_FLOOR["sensitivity"], r
    assert r["lesion_type_accuracy"] >= SHORT_FLOOR["lesion_type_accuracy"], r
    assert r["confident_wrong_fraction"] <= SHORT_FLOOR["confident_wrong_fraction"], r
    # a lesion left uncertain names the truth among its candidates at least half the time
    assert r["uncertain_with_truth_among_candidates"] >= SHORT_FLOOR["uncertain_with_truth"] * r["uncertain"], r


#: The level reached on the short seed (sensitivity 0.96, lesion type 0.78, confident wrong
#: 0.024 (1 of 41), truth among the candidates of 12 of 18 uncertain lesions), guarded with a
#: little room so that it cannot silently get worse. Lesion type is below the >= 0.90 target:
#: docs/imaging.md gives the full benchmark's figures and what is not met.
SHORT_FLOOR = {"sensitivity": 0.9, "lesion_type_accuracy": 0.75, "confident_wrong_fraction": 0.08, "uncertain_with_truth": 0.6}
