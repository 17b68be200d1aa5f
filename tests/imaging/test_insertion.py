"""Synthetic calcified lesions written into the livers of the two real studies are found."""

from __future__ import annotations

import pytest

from hepcal.imaging.evaluation import score_scan
from hepcal.imaging.insertion import insert_lesions
from hepcal.imaging.liver import load_mask
from hepcal.imaging.phantom import LesionSpec
from hepcal.imaging.pipeline import scan_volume
from hepcal.imaging.reading import read_study
from tests.imaging.conftest import example


@pytest.mark.parametrize(
    "study, labels, phase, specs",
    [
        ("ct_dicom", "ct_dicom_labels.nii.gz", "portal", [LesionSpec("rim", 24), LesionSpec("punctate", 3)]),
        ("ct_small.nii.gz", "ct_small_labels.nii.gz", "unenhanced", [LesionSpec("rim", 36), LesionSpec("dense_nodular", 12)]),
    ],
)
def test_inserted_lesions_are_found_with_their_pattern(study, labels, phase, specs):
    v = read_study(example(study))
    liver = load_mask(example(labels), v, label=5)
    v2, calcium, truth = insert_lesions(v, liver, specs, phase=phase, seed=3)
    res = scan_volume(v2, assess=False)  # built-in liver, auto phase: the whole pipeline
    assert res.phase_used == phase
    ev = score_scan(res, calcium, truth)
    assert ev.sensitivity == 1.0
    assert ev.false_positive_lesions == 0
    assert {t: max(row, key=row.get) for t, row in ev.confusion.items()} == {s.pattern: s.pattern for s in specs}


def test_plain_real_studies_report_nothing():
    for study in ("ct_dicom", "ct_small.nii.gz"):
        assert scan_volume(read_study(example(study)), assess=False).lesions == []
