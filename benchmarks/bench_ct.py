"""CT pipeline speed and memory (``ct.*`` in bench-results.json).

A 512×512×400 synthetic study (0.7 mm pixels, 1 mm slices) with calcified lesions: detection
and characterisation (liver mask given, so liver segmentation is excluded) timed and their peak
memory traced, in the same run as a plain scikit-image ``label`` + ``regionprops_table`` pass over
the whole study at the same threshold, for a like-for-like ratio.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import merge  # noqa: E402

from hepcal.imaging.characterisation import characterise  # noqa: E402
from hepcal.imaging.detection import detect_calcifications, phase_threshold  # noqa: E402
from hepcal.imaging.evaluation import score_lesions  # noqa: E402
from hepcal.imaging.phantom import LesionSpec, make_phantom  # noqa: E402


def _timed(fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, dt, peak


def main() -> dict:
    from skimage.measure import label, regionprops_table

    t0 = time.perf_counter()
    patterns = ("rim", "central", "coarse", "punctate", "dense_nodular", "linear", "septal", "amorphous")
    ph = make_phantom(  # lesions placed by the generator: inside the liver, apart from each other
        phase="unenhanced",
        lesions=[LesionSpec(p) for p in patterns],
        spacing=(1.0, 0.7, 0.7),
        fov_mm=(400.0, 358.4, 358.4),
        seed=3,
    )
    build = time.perf_counter() - t0
    vol = ph.volume
    thr = phase_threshold("unenhanced")
    runs = []
    for _ in range(3):
        (lesions, dt, peak) = _timed(lambda: characterise(vol, ph.liver, detect_calcifications(vol, ph.liver, threshold=thr)))
        runs.append((dt, peak))
    dt, peak = min(runs)
    (_, base_dt, base_peak) = _timed(lambda: regionprops_table(label(vol.array >= thr.candidate_hu), intensity_image=vol.array, properties=("label", "area", "intensity_max", "centroid")))
    size = vol.array.nbytes
    ev = score_lesions(lesions, ph.calcium, ph.lesions)
    results = {
        "shape": list(vol.shape),
        "dtype": str(vol.array.dtype),
        "volume_mb": round(size / 2**20, 1),
        "cpus": os.cpu_count(),
        "phantom_build_s": round(build, 2),
        "lesions_found": len(lesions),
        "lesions_truth": len(ph.lesions),
        "sensitivity": round(ev.sensitivity, 3),
        "fp_lesions": ev.false_positive_lesions,
        "patterns": {t: max(row, key=row.get) for t, row in ev.confusion.items()},
        "detect_characterise_s": round(dt, 3),
        "detect_characterise_peak_mb": round(peak / 2**20, 1),
        "peak_over_volume": round(peak / size, 2),
        "skimage_label_regionprops_s": round(base_dt, 3),
        "skimage_label_regionprops_peak_mb": round(base_peak / 2**20, 1),
        "ratio_to_skimage": round(dt / base_dt, 2),
        "targets": {"time_s": 2.0, "peak_over_volume": 3.0},
    }
    merge("ct", results)
    print(
        f"ct: {vol.shape} detection+characterisation {dt:.2f} s, peak {peak / 2**20:.0f} MiB "
        f"({peak / size:.2f}x the volume); skimage label+regionprops {base_dt:.2f} s "
        f"(ratio {dt / base_dt:.2f}); {len(lesions)} lesions for {len(ph.lesions)} inserted, "
        f"sensitivity {ev.sensitivity:.2f}, patterns (truth: called) {results['patterns']}"
    )
    return results


if __name__ == "__main__":
    main()
