"""Proof that a CT speed change leaves detection and characterisation unchanged (run before and after it).

``python benchmarks/same_ct.py dump OUT.json`` runs detection + characterisation (liver mask
given) on the ``bench_ct`` study, on twelve phantoms (every pattern in every contrast phase,
1-3 mm voxels, contrast phases with the blood-pool threshold) and on the real unenhanced example
study with lesions written into it (native 3 mm and thickened to 5 mm), and writes everything
they return: the crop, a digest of the label map, every focus and exclusion, and for every
lesion its box, foci, centroids, features, pattern, reasons, finding, mimics, candidates and
digests of its calcium and tissue masks. ``python benchmarks/same_ct.py compare A.json B.json``
reports every difference (``same_output``'s comparison); exit status 1 unless all is bit-identical.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
import same_output  # noqa: E402

#: (phase, spacing mm, seed, patterns) of the comparison phantoms: each phase draws all twelve patterns
PHANTOMS = [
    (phase, spacing, seed, patterns)
    for k, phase in enumerate(("unenhanced", "arterial", "portal", "delayed"))
    for spacing, seed, patterns in (
        ((1.5, 1.5, 1.5), 20 + k, ("rim", "punctate", "linear", "central")),
        ((2.5, 0.8, 0.8), 30 + k, ("coarse", "septal", "dense_nodular", "ductal")),
        ((3.0, 1.2, 1.2), 40 + k, ("amorphous", "central_scar", "vascular", "diffuse")),
    )
]
REAL = ROOT.parent / "shared" / "data" / "totalsegmentator-example"


def digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return f"{a.dtype}{list(a.shape)}:" + hashlib.sha256(a.tobytes()).hexdigest()[:20]


def box(b: Any) -> list[list[int]]:
    return [[int(s.start), int(s.stop)] for s in b]


def run(volume: Any, liver: np.ndarray, threshold: Any) -> dict:
    """Detection + characterisation of one study, everything they return."""
    from hepcal.imaging.characterisation import characterise
    from hepcal.imaging.detection import detect_calcifications

    det = detect_calcifications(volume, liver, threshold=threshold)
    lesions = characterise(volume, liver, det)
    foci = [asdict(f) | {"box": box(f.box)} for f in det.foci]
    return {
        "crop": box(det.crop),
        "labels": digest(det.labels),
        "foci": foci,
        "excluded": det.excluded,
        "lesions": [
            {
                "index": les.index, "foci": les.foci, "box": box(les.box), "centroid_voxel": list(les.centroid_voxel),
                "centroid_mm": list(les.centroid_mm), "calcium_volume_mm3": les.calcium_volume_mm3, "features": les.features,
                "pattern": les.pattern, "why": les.why, "finding": les.finding, "mimics": les.mimics, "candidates": les.candidates,
                "calcium": digest(les.calcium), "tissue": digest(les.tissue),
            }
            for les in lesions
        ],
    }


def studies() -> list[tuple[str, Any]]:
    """(name, thunk returning (volume, liver, threshold)) of every study compared."""
    from hepcal.imaging.detection import phase_threshold
    from hepcal.imaging.phantom import TISSUE_HU, LesionSpec, make_phantom

    def bench() -> tuple:
        patterns = ("rim", "central", "coarse", "punctate", "dense_nodular", "linear", "septal", "amorphous")
        ph = make_phantom(phase="unenhanced", lesions=[LesionSpec(p) for p in patterns], spacing=(1.0, 0.7, 0.7), fov_mm=(400.0, 358.4, 358.4), seed=3)
        return ph.volume, ph.liver, phase_threshold("unenhanced")

    def phantom(phase: str, spacing: tuple, seed: int, patterns: tuple) -> Any:
        def make() -> tuple:
            ph = make_phantom(phase=phase, lesions=[LesionSpec(p) for p in patterns], spacing=spacing, seed=seed)
            blood = None if phase == "unenhanced" else TISSUE_HU["aorta"][phase]
            return ph.volume, ph.liver, phase_threshold(phase, blood_pool_hu=blood)
        return make

    out: list[tuple[str, Any]] = [("bench_ct", bench)]
    out += [(f"{ph}/{'x'.join(map(str, sp))}/seed{s}", phantom(ph, sp, s, pats)) for ph, sp, s, pats in PHANTOMS]
    if (REAL / "ct_small.nii.gz").exists():
        out += [(f"ct_small/{k}/{thick or 'native'}", real(k, thick)) for k in range(2) for thick in (None, 5.0)]
    return out


def real(group: int, thick: float | None) -> Any:
    """Lesions of five patterns written into the real unenhanced study (as the real-background benchmark does)."""
    from hepcal.imaging.detection import phase_threshold
    from hepcal.imaging.evaluation import draw_lesion
    from hepcal.imaging.insertion import insert_lesions, thicken
    from hepcal.imaging.liver import load_mask
    from hepcal.imaging.reading import read_study

    def make() -> tuple:
        vol = read_study(REAL / "ct_small.nii.gz")
        liver = load_mask(REAL / "ct_small_labels.nii.gz", vol, label=5)
        rng = np.random.default_rng(900 + group)
        patterns = (("rim", "central", "punctate"), ("septal", "coarse"))[group]
        drawn = [draw_lesion(p, rng, phase="unenhanced", liver_hu=float(np.median(vol.array[liver])), max_size_mm=40.0) for p in patterns]
        v2, calcium, _ = insert_lesions(vol, liver, [d[0] for d in drawn], phase="unenhanced", seed=7 + group, tissue_delta_hu=[d[1] for d in drawn], blur_mm=0.6)
        if thick is not None:
            v2, _, liver = thicken(v2, calcium, thick, liver)
        return v2, liver, phase_threshold("unenhanced")
    return make


def dump(path: Path) -> int:
    out = {}
    for name, make in studies():
        out[name] = run(*make())
        print(f"{name}: {len(out[name]['foci'])} foci, {len(out[name]['lesions'])} lesions", flush=True)
    path.write_text(json.dumps(out, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return 0


def compare(first: Path, second: Path) -> int:
    """The engine check's comparison (every difference listed), here passing only when bit-identical."""
    status = same_output.compare(first, second)
    return 1 if status or same_output.INEXACT[0] else 0


if __name__ == "__main__":
    command = {("dump", 3): dump, ("compare", 4): compare}.get((sys.argv[1] if len(sys.argv) > 1 else "", len(sys.argv)))
    if command is None:
        print(__doc__)
        raise SystemExit(2)
    raise SystemExit(command(*(Path(a) for a in sys.argv[2:])))  # type: ignore[operator]
