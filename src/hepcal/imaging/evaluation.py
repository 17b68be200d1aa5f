"""Measure the detector against known truth: sensitivity per focus, false positives per study,
and the pattern confusion matrix (used by the tests and reported in ``docs/imaging.md``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi

from hepcal.imaging.characterisation import Lesion
from hepcal.imaging.phantom import PATTERNS, LesionSpec, TruthLesion, make_phantom
from hepcal.imaging.pipeline import ScanResult, scan_volume

__all__ = ["Evaluation", "evaluate_phantoms", "score_lesions", "score_scan"]


@dataclass
class Evaluation:
    foci_total: int = 0
    foci_found: int = 0
    studies: int = 0
    false_positive_lesions: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    missed_lesions: list[str] = field(default_factory=list)

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
        for t, row in other.confusion.items():
            for p, n in row.items():
                self.confusion.setdefault(t, {}).setdefault(p, 0)
                self.confusion[t][p] += n

    def to_dict(self) -> dict:
        return {
            "foci": self.foci_total,
            "sensitivity": round(self.sensitivity, 4),
            "studies": self.studies,
            "fp_lesions_per_study": round(self.fp_per_study, 3),
            "pattern_accuracy": {p: (None if (a := self.accuracy(p)) is None else round(a, 3)) for p in PATTERNS if p in self.confusion},
            "confusion": self.confusion,
            "missed_lesions": self.missed_lesions,
        }


def _lesion_mask(les: Lesion, shape: tuple[int, ...]) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[les.box] = les.calcium
    return m


def score_scan(result: ScanResult, calcium: np.ndarray, truth: Sequence[TruthLesion]) -> Evaluation:
    """Compare one scan with its truth labels (calcium: k = truth lesion k)."""
    return score_lesions(result.lesions, calcium, truth)


def score_lesions(lesions: Sequence[Lesion], calcium: np.ndarray, truth: Sequence[TruthLesion]) -> Evaluation:
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
        flab, n = ndi.label(tmask, structure=np.ones((3, 3, 3), bool))
        ev.foci_total += n
        for k in range(1, n + 1):
            if np.any(found_d[flab == k]):
                ev.foci_found += 1
        overlaps = [int(np.sum(m & ndi.binary_dilation(tmask))) for m in masks]
        if not overlaps or max(overlaps) == 0:
            ev.missed_lesions.append(t.pattern)
            predicted = "missed"
        else:
            predicted = lesions[int(np.argmax(overlaps))].pattern
        ev.confusion.setdefault(t.pattern, {}).setdefault(predicted, 0)
        ev.confusion[t.pattern][predicted] += 1
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
