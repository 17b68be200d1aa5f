"""CT patterns on real backgrounds (``ct_real.*`` in bench-results.json).

Lesions of every pattern, drawn from seeds (size, calcium density, soft-tissue contrast; the
models in ``hepcal.imaging.evaluation``), written into the livers of the two real example
studies (unenhanced 3 mm; portal-venous 1 × 1 × 2 mm), scanned at the study's resolution and
thickened to 5 mm slices, by the whole pipeline (built-in liver, automatic phase). Reports the
confusion matrices of pattern, lesion type and size, and the share of lesions named with a
confident wrong pattern. The benchmark seeds (100 and up) are not the design seeds
(``DESIGN_SEEDS``) the rules were developed on. ``--short`` is the version ``make test`` runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, merge  # noqa: E402

from hepcal.imaging.evaluation import DESIGN_SEEDS, Evaluation, RealStudy, evaluate_real  # noqa: E402
from hepcal.imaging.phantom import PATTERNS  # noqa: E402, F401  (the patterns drawn)
from hepcal.imaging.liver import load_mask  # noqa: E402
from hepcal.imaging.reading import read_study  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "totalsegmentator-example"
STUDIES = (
    RealStudy("ct_small", "ct_small.nii.gz", "ct_small_labels.nii.gz", "unenhanced", 3),
    RealStudy("ct_dicom", "ct_dicom", "ct_dicom_labels.nii.gz", "portal", 2),
)
SEEDS = tuple(range(100, 108))
SHORT_SEEDS = (100,)
TARGETS = {"pattern_accuracy": 0.90, "lesion_type_accuracy": 0.90, "confident_wrong_fraction": 0.05}


def run(seeds: tuple[int, ...], slices: tuple[float | None, ...] = (None, 5.0), data: Path = DATA) -> dict:
    """Evaluate both studies on ``seeds``; returns the results (also for the test)."""
    assert not set(seeds) & set(DESIGN_SEEDS), "benchmark seeds must not be design seeds"
    t0 = time.perf_counter()
    total = Evaluation()
    per_study = {}
    for st in STUDIES:
        vol = read_study(data / st.image)
        liver = load_mask(data / st.labels, vol, label=5)
        ev, per_res = evaluate_real(st, vol, liver, seeds, slice_mm=slices)
        per_study[st.name] = {"phase": st.phase, "spacing_mm": [round(float(s), 3) for s in vol.spacing], **_summary(ev), "per_resolution": {k: _summary(e) for k, e in per_res.items()}}
        total.add(ev)
    return {
        "seeds": list(seeds),
        "design_seeds": list(DESIGN_SEEDS),
        "slices": ["native" if s is None else s for s in slices],
        **total.to_dict(),
        "per_study": per_study,
        "seconds": round(time.perf_counter() - t0, 1),
        "targets": TARGETS,
    }


def _summary(ev: Evaluation) -> dict:
    d = ev.to_dict()
    return {k: d[k] for k in ("lesions", "sensitivity", "fp_lesions_per_study", "pattern_accuracy", "lesion_type_accuracy", "confident_wrong_fraction", "uncertain")}


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    short = "--short" in argv
    if not DATA.exists():
        print("ct_real: ../shared/data is not present; skipped")
        return {}
    results = run(SHORT_SEEDS if short else SEEDS)
    if not short:
        merge("ct_real", results)
    acc = ", ".join(f"{p} {a:.0%}" for p, a in results["pattern_accuracy"].items() if a is not None)
    print(
        f"ct_real: {results['lesions']} lesions, sensitivity {results['sensitivity']:.3f}, FP/study {results['fp_lesions_per_study']:.3f}, "
        f"lesion type {results['lesion_type_accuracy']}, confident wrong {results['confident_wrong_fraction']:.1%}, "
        f"uncertain {results['uncertain']}; {acc} ({results['seconds']} s)"
    )
    return results


if __name__ == "__main__":
    main()
