"""Measure the detector against known truth: sensitivity per focus, false positives per study,
and the confusion matrices of pattern, lesion type and size (used by the tests and the
benchmarks, reported in ``docs/imaging.md``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi

from hepcal.errors import InputError
from hepcal.imaging.characterisation import Lesion
from hepcal.imaging.insertion import insert_lesions, thicken
from hepcal.imaging.phantom import LESION_KIND, PATTERNS, LesionSpec, TruthLesion, _footprint_mm, make_phantom
from hepcal.imaging.pipeline import ScanResult, scan_volume
from hepcal.imaging.volume import Volume

__all__ = ["DESIGN_SEEDS", "Evaluation", "RealStudy", "draw_lesion", "evaluate_phantoms", "evaluate_real", "score_lesions", "score_scan"]


@dataclass
class Evaluation:
    foci_total: int = 0
    foci_found: int = 0
    studies: int = 0
    false_positive_lesions: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    missed_lesions: list[str] = field(default_factory=list)
    #: truth lesion type (none/cystic/solid/mixed) -> type found -> count
    kind_confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    #: truth size class -> size class found -> count
    size_confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    #: lesions named with a wrong pattern and no uncertainty stated
    confident_wrong: int = 0
    #: lesions found with the pattern left uncertain (the truth among the candidates or not)
    uncertain: int = 0
    uncertain_with_truth: int = 0
    #: truth lesions whose calcium never reaches the definite threshold in the scanned image (no
    #: detector may find them): counted apart, per pattern, and left out of the matrices
    invisible: dict[str, int] = field(default_factory=dict)

    @property
    def sensitivity(self) -> float:
        return self.foci_found / self.foci_total if self.foci_total else 1.0

    @property
    def fp_per_study(self) -> float:
        return self.false_positive_lesions / self.studies if self.studies else 0.0

    def accuracy(self, pattern: str) -> float | None:
        row = self.confusion.get(pattern, {})
        n = sum(row.values())
        return row.get(pattern, 0) / n if n else None

    def add(self, other: Evaluation) -> None:
        self.foci_total += other.foci_total
        self.foci_found += other.foci_found
        self.studies += other.studies
        self.false_positive_lesions += other.false_positive_lesions
        self.missed_lesions += other.missed_lesions
        self.confident_wrong += other.confident_wrong
        self.uncertain += other.uncertain
        self.uncertain_with_truth += other.uncertain_with_truth
        for k, n in other.invisible.items():
            self.invisible[k] = self.invisible.get(k, 0) + n
        for mine, theirs in ((self.confusion, other.confusion), (self.kind_confusion, other.kind_confusion), (self.size_confusion, other.size_confusion)):
            for t, row in theirs.items():
                for p, n in row.items():
                    _count(mine, t, p, n)

    @property
    def lesions(self) -> int:
        return sum(sum(row.values()) for row in self.confusion.values())

    def kind_accuracy(self) -> float | None:
        n = sum(sum(row.values()) for row in self.kind_confusion.values())
        return sum(row.get(t, 0) for t, row in self.kind_confusion.items()) / n if n else None

    def to_dict(self) -> dict:
        return {
            "foci": self.foci_total,
            "sensitivity": round(self.sensitivity, 4),
            "studies": self.studies,
            "fp_lesions_per_study": round(self.fp_per_study, 3),
            "pattern_accuracy": {p: (None if (a := self.accuracy(p)) is None else round(a, 3)) for p in PATTERNS if p in self.confusion},
            "confusion": self.confusion,
            "missed_lesions": self.missed_lesions,
            "lesions": self.lesions,
            "confident_wrong": self.confident_wrong,
            "confident_wrong_fraction": round(self.confident_wrong / self.lesions, 4) if self.lesions else 0.0,
            "uncertain": self.uncertain,
            "uncertain_with_truth_among_candidates": self.uncertain_with_truth,
            "not_visible": self.invisible,
            "lesion_type_accuracy": None if (k := self.kind_accuracy()) is None else round(k, 3),
            "lesion_type_confusion": self.kind_confusion,
            "size_confusion": self.size_confusion,
        }


def _count(table: dict[str, dict[str, int]], truth: str, found: str, n: int = 1) -> None:
    table.setdefault(truth, {}).setdefault(found, 0)
    table[truth][found] += n


#: Size classes of the size confusion matrix (upper bounds in mm).
SIZE_CLASSES: tuple[tuple[str, float], ...] = (("<10 mm", 10.0), ("10-30 mm", 30.0), (">30 mm", float("inf")))


def size_class(size_mm: float) -> str:
    return next(name for name, upper in SIZE_CLASSES if size_mm < upper)


def _lesion_mask(les: Lesion, shape: tuple[int, ...]) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[les.box] = les.calcium
    return m


def score_scan(result: ScanResult, calcium: np.ndarray, truth: Sequence[TruthLesion], image: np.ndarray | None = None) -> Evaluation:
    """Compare one scan with its truth labels (calcium: k = truth lesion k).

    With ``image`` (the scanned HU), a truth lesion whose calcium stays below the scan's
    definite threshold is counted as not visible instead of being scored.
    """
    visible_hu = result.threshold.definite_hu if image is not None else None
    return score_lesions(result.lesions, calcium, truth, image=image, visible_hu=visible_hu)


def score_lesions(
    lesions: Sequence[Lesion], calcium: np.ndarray, truth: Sequence[TruthLesion], *, image: np.ndarray | None = None, visible_hu: float | None = None
) -> Evaluation:
    """Compare the lesions found in one study with its truth labels (calcium: k = truth lesion k)."""
    ev = Evaluation(studies=1)
    shape = calcium.shape
    found = np.zeros(shape, bool)
    masks = []
    for les in lesions:
        m = _lesion_mask(les, shape)
        masks.append(m)
        found |= m
    found_d = ndi.binary_dilation(found)  # one voxel of tolerance for partial-volume edges
    truth_d = ndi.binary_dilation(calcium > 0)
    for t in truth:
        tmask = calcium == t.label
        if image is not None and visible_hu is not None and (not tmask.any() or float(image[tmask].max()) < visible_hu):
            ev.invisible[t.pattern] = ev.invisible.get(t.pattern, 0) + 1
            continue
        flab, n = ndi.label(tmask, structure=np.ones((3, 3, 3), bool))
        ev.foci_total += n
        for k in range(1, n + 1):
            if np.any(found_d[flab == k]):
                ev.foci_found += 1
        overlaps = [int(np.sum(m & ndi.binary_dilation(tmask))) for m in masks]
        if not overlaps or max(overlaps) == 0:
            ev.missed_lesions.append(t.pattern)
            predicted = kind = size = "missed"
        else:
            les = lesions[int(np.argmax(overlaps))]
            predicted = les.pattern
            kind = les.finding["lesion"]
            size = size_class(float(les.finding["size_mm"]))
            if les.pattern_uncertain:
                predicted = "uncertain"
                ev.uncertain += 1
                ev.uncertain_with_truth += int(t.pattern in les.candidates)
            elif predicted != t.pattern:
                ev.confident_wrong += 1
        _count(ev.confusion, t.pattern, predicted)
        _count(ev.kind_confusion, t.lesion, kind)
        _count(ev.size_confusion, size_class(_footprint_mm(t.pattern, t.size_mm) if t.pattern == "punctate" else t.size_mm), size)
    for m in masks:
        if not np.any(m & truth_d):
            ev.false_positive_lesions += 1
    return ev


def phantom_sets(patterns: Sequence[str] = PATTERNS, per_study: int = 4) -> list[list[str]]:
    """Split the patterns into studies of a few lesions each (diffuse always on its own)."""
    rest = [p for p in patterns if p != "diffuse"]
    sets = [rest[i : i + per_study] for i in range(0, len(rest), per_study)]
    if "diffuse" in patterns:
        sets.append(["diffuse"])
    return sets


def evaluate_phantoms(
    phases: Iterable[str],
    seeds: Iterable[int],
    *,
    patterns: Sequence[str] = PATTERNS,
    spacing: tuple[float, float, float] = (1.5, 1.5, 1.5),
    empty_studies: bool = True,
    builtin_liver: bool = True,
) -> Evaluation:
    """Run the whole pipeline (built-in liver, auto phase) on phantoms and score it."""
    total = Evaluation()
    for phase in phases:
        for seed in seeds:
            studies = phantom_sets(patterns) + ([[]] if empty_studies else [])
            for j, pats in enumerate(studies):
                ph = make_phantom(phase=phase, lesions=[LesionSpec(p) for p in pats], seed=1000 * seed + 17 * j + len(phase), spacing=spacing)
                res = scan_volume(ph.volume, liver_mask=None if builtin_liver else ph.liver, assess=False)
                total.add(score_scan(res, ph.calcium, ph.lesions))
    return total


# --- lesions written into real studies -------------------------------------------------------

#: Seeds used while the characterisation rules were developed; the real-background benchmark
#: draws its lesions from other seeds (``bench_real``: 100 and up), so no rule was fitted to them.
DESIGN_SEEDS: tuple[int, ...] = tuple(range(10))

#: Diameter range (mm) drawn for each pattern: the dot of a punctate cluster or of a diffuse
#: spread; the calcification for the bare patterns; the mass or cyst for the others.
SIZE_RANGE_MM: dict[str, tuple[float, float]] = {
    "punctate": (2.5, 5.0), "diffuse": (2.5, 4.0), "dense_nodular": (7.0, 20.0), "coarse": (8.0, 25.0),
    "linear": (12.0, 40.0), "ductal": (16.0, 40.0), "vascular": (15.0, 40.0), "rim": (15.0, 60.0),
    "septal": (25.0, 60.0), "central": (20.0, 60.0), "central_scar": (30.0, 60.0), "amorphous": (25.0, 60.0),
}
#: A dense nodule starts where a punctate dot (under about 5 mm) ends.
#: Lowest calcium density drawn per phase (HU, before partial volume). Unenhanced: faint
#: calcification from 200 HU; contrast phases: from 350 HU, since below the 300 HU threshold of
#: the contrast phases calcium is not told apart from enhancing vessels by density at all.
CALCIUM_MIN_HU = {"unenhanced": 200.0, "arterial": 350.0, "portal": 350.0, "delayed": 350.0}
CALCIUM_MAX_HU = 1000.0
#: What the phantom's lesion model paints relative to ``calcium_hu`` (amorphous calcium is
#: fainter, a vessel wall slightly): the drawn density is what ends up painted.
CALCIUM_FACTOR = {"amorphous": 0.6, "vascular": 0.8}
#: Mass contrast to the surrounding liver (HU) for solid masses: from barely visible to obvious.
SOLID_DELTA_HU = (-50.0, -12.0)
#: ... but a solid mass stays above water density (HU, absolute): a "solid" mass at 0-20 HU is
#: not told apart from fluid by its attenuation by any method, so it is not drawn.
SOLID_MIN_HU = 25.0
#: A mass with a central scar is iso- to mildly hypoattenuating; its scar keeps the phantom's
#: offset below the mass.
SCAR_MASS_DELTA_HU = (-30.0, -5.0)
#: Cyst fluid (HU, absolute).
FLUID_HU = (0.0, 20.0)


@dataclass(frozen=True)
class RealStudy:
    """A real study to write lesions into: image, reference liver mask (label), its phase."""

    name: str
    image: str
    labels: str
    phase: str
    lesions_per_study: int


def draw_lesion(pattern: str, rng: np.random.Generator, *, phase: str, liver_hu: float, max_size_mm: float) -> tuple[LesionSpec, float | None]:
    """One lesion of ``pattern`` with its size, calcium density and soft-tissue contrast drawn.

    Returns the spec and the soft-tissue offset from the liver (None for lesions without one).
    """
    lo, hi = SIZE_RANGE_MM[pattern]
    size = float(min(rng.uniform(lo, hi), max_size_mm))
    ca = float(np.exp(rng.uniform(np.log(CALCIUM_MIN_HU[phase]), np.log(CALCIUM_MAX_HU))))
    spec = LesionSpec(pattern, size_mm=round(size, 1), calcium_hu=ca / CALCIUM_FACTOR.get(pattern, 1.0))
    kind = LESION_KIND[pattern]
    if kind == "cystic":
        return spec, float(rng.uniform(*FLUID_HU)) - liver_hu
    if kind == "solid":
        lo_d, hi_d = SCAR_MASS_DELTA_HU if pattern == "central_scar" else SOLID_DELTA_HU
        return spec, float(rng.uniform(max(lo_d, min(hi_d, SOLID_MIN_HU - liver_hu)), hi_d))
    return spec, None


def _room_mm(liver: np.ndarray, spacing: np.ndarray) -> float:
    """The largest lesion diameter the generator can place whole inside this liver."""
    depth = ndi.distance_transform_edt(np.pad(liver, 1), sampling=spacing)
    return float(2 * (depth.max() - 6.0 - 1.0))


def evaluate_real(
    study: RealStudy,
    volume: Volume,
    liver: np.ndarray,
    seeds: Iterable[int],
    *,
    patterns: Sequence[str] = PATTERNS,
    slice_mm: Sequence[float | None] = (None, 5.0),
    blur_mm: float = 0.6,
    builtin_liver: bool = False,
) -> tuple[Evaluation, dict[str, Evaluation]]:
    """Lesions of every pattern drawn per seed, written into a real study and scanned.

    Each seed shuffles the patterns into studies of ``lesions_per_study`` lesions; every study
    is scanned at the study's own resolution and thickened to each ``slice_mm`` (None: as is),
    with the pipeline (automatic phase; the study's reference liver, or the built-in one with
    ``builtin_liver``: its errors are then counted too). Returns the total and the evaluation
    per resolution.
    """
    liver_hu = float(np.median(volume.array[liver]))
    room = _room_mm(liver, volume.spacing)
    total = Evaluation()
    per_res: dict[str, Evaluation] = {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        order = list(rng.permutation(list(patterns)))
        k = study.lesions_per_study
        for j in range(0, len(order), k):
            group = [str(p) for p in order[j : j + k]]
            drawn = [draw_lesion(p, rng, phase=study.phase, liver_hu=liver_hu, max_size_mm=room) for p in group]
            try:
                v2, calcium, truth = insert_lesions(volume, liver, [d[0] for d in drawn], phase=study.phase, seed=int(rng.integers(1 << 30)), tissue_delta_hu=[d[1] for d in drawn], blur_mm=blur_mm)
            except InputError:  # no room for this group together: one lesion per study instead
                parts = [insert_lesions(volume, liver, [d[0]], phase=study.phase, seed=int(rng.integers(1 << 30)), tissue_delta_hu=[d[1]], blur_mm=blur_mm) for d in drawn]
            else:
                parts = [(v2, calcium, truth)]
            for v2, calcium, truth in parts:
                for thick in slice_mm:
                    vol, cal, liv = (v2, calcium, liver) if thick is None else thicken(v2, calcium, thick, liver)
                    res = scan_volume(vol, liver_mask=None if builtin_liver else liv, assess=False)
                    ev = score_scan(res, cal, truth, image=vol.array)
                    key = "native" if thick is None else f"{thick:g} mm"
                    per_res.setdefault(key, Evaluation()).add(ev)
                    total.add(ev)
    return total, per_res
