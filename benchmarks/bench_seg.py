"""DICOM SEG writing: time and peak memory (``seg.*`` in bench-results.json).

The 512×512×400 synthetic study of ``bench_ct`` (8 calcified lesions) written as a DICOM CT
series and read back, then its calcifications written as a BINARY DICOM SEG twice in the same
run: by ``write_seg`` (a label map, segment k = lesion k) and by the earlier approach kept here
only as the comparator (a one-hot lesions × volume stack plus its uint8 copy).
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import merge  # noqa: E402

from hepcal.imaging.characterisation import characterise  # noqa: E402
from hepcal.imaging.detection import detect_calcifications, phase_threshold  # noqa: E402
from hepcal.imaging.dicom_series import write_ct_series  # noqa: E402
from hepcal.imaging.phantom import LesionSpec, make_phantom  # noqa: E402
from hepcal.imaging.reading import read_study  # noqa: E402
from hepcal.imaging.seg import _code, _complete, write_seg  # noqa: E402


def _one_hot_seg(volume, lesions, path):  # type: ignore[no-untyped-def]
    """The comparator: one boolean frame stack per lesion, as the SEG writer first did."""
    import highdicom as hd

    sources, _ = _complete(tuple(volume.metadata["dicom_headers"]))
    mask = np.zeros((len(lesions),) + volume.shape, dtype=bool)
    for k, les in enumerate(lesions):
        mask[k][les.box] |= les.calcium
    algo = hd.AlgorithmIdentificationSequence(name="hepcal", version="bench", family=_code(hd, "algorithm_family"))
    desc = [hd.seg.SegmentDescription(segment_number=k + 1, segment_label=f"lesion {k + 1}", segmented_property_category=_code(hd, "category"),
                                      segmented_property_type=_code(hd, "type"), algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                                      algorithm_identification=algo) for k in range(len(lesions))]
    vol = hd.Volume(np.moveaxis(mask, 0, -1).astype(np.uint8), volume.affine, coordinate_system="PATIENT", channels={"SegmentNumber": list(range(1, len(lesions) + 1))})
    seg = hd.seg.Segmentation(source_images=sources, pixel_array=vol, segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=desc,
                              series_instance_uid=hd.UID(), series_number=901, sop_instance_uid=hd.UID(), instance_number=1, manufacturer="hepcal",
                              manufacturer_model_name="bench", software_versions="bench", device_serial_number="0")
    seg.save_as(path)


def _timed(fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak


def _segments(path: Path) -> np.ndarray:
    import highdicom as hd

    return hd.seg.segread(path).get_volume(combine_segments=True).array


def main() -> dict:
    patterns = ("rim", "central", "coarse", "punctate", "dense_nodular", "linear", "septal", "amorphous")
    ph = make_phantom(phase="unenhanced", lesions=[LesionSpec(p) for p in patterns], spacing=(1.0, 0.7, 0.7), fov_mm=(400.0, 358.4, 358.4), seed=3)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        write_ct_series(ph.volume, tmp_path / "ct")
        vol = read_study(tmp_path / "ct")
        lesions = characterise(vol, ph.liver, detect_calcifications(vol, ph.liver, threshold=phase_threshold("unenhanced")))
        runs = [_timed(lambda: write_seg(vol, lesions, tmp_path / "label-map.dcm")) for _ in range(2)]
        base = [_timed(lambda: _one_hot_seg(vol, lesions, tmp_path / "one-hot.dcm")) for _ in range(2)]
        same = bool(np.array_equal(_segments(tmp_path / "label-map.dcm"), _segments(tmp_path / "one-hot.dcm")))
    dt, peak = min(runs)
    bdt, bpeak = min(base)
    results = {
        "shape": list(vol.shape),
        "lesions": len(lesions),
        "write_seg_s": round(dt, 2),
        "write_seg_peak_mb": round(peak / 2**20, 1),
        "one_hot_s": round(bdt, 2),
        "one_hot_peak_mb": round(bpeak / 2**20, 1),
        "time_ratio": round(dt / bdt, 2),
        "memory_ratio": round(peak / bpeak, 3),
        "same_segments_read_back": same,
    }
    merge("seg", results)
    print(f"seg: {len(lesions)} lesions on {vol.shape}: label map {dt:.2f} s, peak {peak / 2**20:.0f} MiB; "
          f"one-hot {bdt:.2f} s, peak {bpeak / 2**20:.0f} MiB (time ratio {dt / bdt:.2f}, memory ratio {peak / bpeak:.2f}); "
          f"same voxels read back: {same}")
    return results


if __name__ == "__main__":
    main()
