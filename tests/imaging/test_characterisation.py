"""Truth on phantoms: sensitivity per focus, false positives per study, pattern confusion."""

from __future__ import annotations

import pytest

from hepcal.findings import parse_case
from hepcal.imaging.characterisation import name_pattern, pattern_candidates
from hepcal.imaging.detection import detect_calcifications, phase_threshold
from hepcal.imaging.characterisation import characterise
from hepcal.imaging.evaluation import evaluate_phantoms, score_scan
from hepcal.imaging.pipeline import scan_volume


def test_rules_are_data_and_first_match_wins():
    base = {"lesion": "none", "n_foci": 1, "max_focus_mm": 3.0, "max_dot_mm": 3.0, "n_dots": 1, "thickness_mm": 3.0, "length_mm": 3.0, "elongation": 1.0,
            "solidity": 1.0, "roundness": 1.0, "ends": 0, "side_branch_mm": 0.0, "hollow": 0, "depth": 0.0, "coverage": 0.0,
            "diffuse": 0, "centrality": 0.0, "thin": 1, "voxel_mm": 1.5, "extent": 0.0, "small_dot": 1, "slice_mm": 1.5}
    # one dot alone may be the one visible part of a faint line or spread: left open
    assert name_pattern(base)[0] == "uncertain" and "punctate" in pattern_candidates(base)
    base = {**base, "n_dots": 3, "n_foci": 3, "length_mm": 12.0, "elongation": 3.0}
    assert name_pattern(base)[0] == "punctate"
    assert name_pattern({**base, "small_dot": 0, "max_dot_mm": 8.0})[0] != "punctate"
    # dots a partial-volume bridge joins into one 8 mm focus are still dots (sized at half maximum)
    assert name_pattern({**base, "n_foci": 2, "n_dots": 3, "max_focus_mm": 8.0, "max_dot_mm": 4.5, "length_mm": 13, "solidity": 0.75})[0] == "punctate"
    assert name_pattern({**base, "diffuse": 1})[0] == "diffuse"
    assert name_pattern({**base, "lesion": "cystic", "depth": 0.1, "coverage": 0.5})[0] == "rim"
    nodule = {**base, "small_dot": 0, "thin": 0, "max_focus_mm": 12, "max_dot_mm": 11, "thickness_mm": 10, "length_mm": 12, "solidity": 0.95, "roundness": 0.83}
    assert name_pattern(nodule)[0] == "dense_nodular"
    # nearly convex but twice as long as it is thick: a chunk, not a nodule
    assert name_pattern({**nodule, "thickness_mm": 6, "roundness": 0.5, "solidity": 0.87})[0] == "coarse"
    line = {**base, "n_foci": 1, "n_dots": 1, "small_dot": 0, "max_focus_mm": 30, "max_dot_mm": 30, "thickness_mm": 3, "length_mm": 30, "solidity": 0.5,
            "roundness": 0.1, "ends": 2, "elongation": 40.0}
    assert name_pattern(line)[0] == "linear"
    # thin, not long and straight, in 5 mm slices (a duct whose branch falls between slices, dots
    # merged across them); in thin slices it is named
    assert pattern_candidates({**line, "elongation": 6.0, "slice_mm": 5.0}) == ["linear", "ductal", "punctate"]
    assert name_pattern({**line, "elongation": 6.0})[0] == "linear"
    assert name_pattern({**line, "ends": 3, "side_branch_mm": 8.0})[0] == "ductal"
    # a stellate calcification in a mass: its centre may lie off the mass's centre; a compact
    # one must sit in the centre to be "central"
    scar = {**line, "lesion": "solid", "max_focus_mm": 16, "length_mm": 16, "solidity": 0.45, "ends": 3, "centrality": 0.45}
    assert name_pattern(scar)[0] == "central_scar"
    assert name_pattern({**scar, "n_foci": 3})[0] == "amorphous"
    assert name_pattern({**scar, "thickness_mm": 5.2, "thin": 0})[0] == "amorphous"  # a chunky clump with bumps
    # one compact calcification inside a mass but off its centre: central or amorphous
    assert pattern_candidates({**scar, "solidity": 0.9, "ends": 2}) == ["central", "amorphous"]
    assert name_pattern({**scar, "solidity": 0.9, "ends": 2, "centrality": 0.8})[0] == "central"


def test_lesion_phantom_end_to_end(lesion_phantom):
    res = scan_volume(lesion_phantom.volume, assess=False)
    ev = score_scan(res, lesion_phantom.calcium, lesion_phantom.lesions)
    assert ev.sensitivity == 1.0
    assert ev.false_positive_lesions == 0
    assert {t: max(row, key=row.get) for t, row in ev.confusion.items()} == {p: p for p in ev.confusion}
    for les in res.lesions:
        parse_case({"finding": les.finding})  # every finding is a valid case


def test_finding_vocabulary(lesion_phantom):
    det = detect_calcifications(lesion_phantom.volume, lesion_phantom.liver, threshold=phase_threshold("unenhanced"))
    by = {les.pattern: les for les in characterise(lesion_phantom.volume, lesion_phantom.liver, det)}
    assert by["rim"].finding["lesion"] == "cystic"
    assert by["central"].finding["lesion"] == "solid"
    assert by["dense_nodular"].finding["lesion"] == "none"
    assert 24 <= by["rim"].finding["size_mm"] <= 40  # 30 mm cyst
    assert all(les.finding["count"] == "few" for les in by.values())  # 4 calcified lesions


@pytest.mark.slow
def test_unenhanced_phantoms_regression_floor():
    """Every pattern on unenhanced phantoms (built-in liver, auto phase).

    The per-pattern target (>= 95 %) is not met for every pattern yet; docs/imaging.md reports
    the measured numbers (``make bench``: bench_truth). This test guards the level reached so
    that it cannot silently get worse.
    """
    ev = evaluate_phantoms(["unenhanced"], [0])
    assert ev.sensitivity >= 0.95, ev.to_dict()
    assert ev.fp_per_study <= 0.1, ev.to_dict()
    right = sum(1 for p in ev.confusion if ev.accuracy(p) == 1.0)
    assert right >= 10, ev.to_dict()
    # the mass patterns found through the tissue reference of the surrounding liver, and the
    # septated cyst that bulges the surface (its fluid lies in a bay of the built-in liver)
    assert ev.accuracy("amorphous") == ev.accuracy("central") == ev.accuracy("septal") == 1.0, ev.to_dict()


def test_patterns_the_measurements_do_not_separate_are_left_open():
    """Uncertain rules name their candidates; a confident name needs its defining shape."""
    base = {"lesion": "cystic", "n_foci": 1, "max_focus_mm": 10.0, "max_dot_mm": 10.0, "n_dots": 1, "thickness_mm": 8.0, "length_mm": 10.0,
            "elongation": 1.2, "solidity": 0.9, "roundness": 0.8, "ends": 2, "side_branch_mm": 0.0, "hollow": 0, "depth": 0.8, "coverage": 0.0,
            "diffuse": 0, "centrality": 0.9, "thin": 0, "voxel_mm": 1.5, "extent": 0.25, "small_dot": 0, "slice_mm": 1.5}
    # a compact calcium in the centre of a mass of near-fluid density is central, not septal
    assert name_pattern(base)[0] == "central" and pattern_candidates(base) == []
    # septa: sheets spanning the cyst, far from convex
    assert name_pattern({**base, "extent": 0.8, "solidity": 0.3, "centrality": 0.5})[0] == "septal"
    # scattered calcium in a fluid-density lesion: septal or amorphous, not named
    cloud = {**base, "n_foci": 4, "centrality": 0.5, "extent": 0.4, "solidity": 0.8}
    assert name_pattern(cloud)[0] == "uncertain" and pattern_candidates(cloud) == ["septal", "amorphous"]
    assert name_pattern({**cloud, "lesion": "solid"})[0] == "amorphous"
    # one dot-sized fleck in a mass
    assert pattern_candidates({**base, "lesion": "solid", "small_dot": 1}) == ["central", "amorphous", "central_scar"]
    # irregular calcium spanning most of a lesion of soft-tissue density: septa or a mass's calcium
    assert pattern_candidates({**base, "lesion": "solid", "extent": 0.8, "solidity": 0.4}) == ["septal", "amorphous", "central_scar"]
    # an elongated bare calcification at 3 mm voxels
    bare = {**base, "lesion": "none", "voxel_mm": 3.0, "length_mm": 25.0, "roundness": 0.25, "thin": 1, "extent": 0.0, "centrality": 0.0}
    assert pattern_candidates(bare) == ["coarse", "linear", "ductal", "vascular"]
    assert name_pattern({**bare, "voxel_mm": 1.5})[0] == "linear"


def test_uncertain_pattern_is_left_out_of_the_finding():
    """When the pattern is uncertain the finding carries no calcification pattern; the lesion's
    features say so, with the candidates, and the case still parses."""
    import numpy as np

    from hepcal.imaging.insertion import insert_lesions
    from hepcal.imaging.phantom import LesionSpec, make_phantom

    ph = make_phantom(phase="unenhanced", seed=7, spacing=(3.0, 3.0, 3.0), ribs=False)
    v2, _, _ = insert_lesions(ph.volume, ph.liver, [LesionSpec("linear", 30, calcium_hu=900)], phase="unenhanced", seed=2)
    res = scan_volume(v2, liver_mask=ph.liver, assess=False)
    assert len(res.lesions) == 1
    les = res.lesions[0]
    assert les.pattern_uncertain and les.features["pattern_uncertain"] is True
    assert les.features["pattern_candidates"] == les.candidates and "linear" in les.candidates
    assert "calcification" not in les.finding
    parse_case({"finding": les.finding})
    assert np.isfinite(les.finding["size_mm"])


def test_bone_in_the_liver_mask_does_not_lift_the_liver_reference():
    """The phantom's liver mask overlaps a rib (650 HU). Left in the liver reference, it lifted
    the reference far above the liver near the rib, parenchyma read as a cyst's fluid, and two
    neighbouring cysts became one lesion (multi-phase benchmark study 605, unenhanced)."""
    import numpy as np

    from hepcal.imaging.phantom import ENHANCEMENT_PATTERN, LesionSpec, make_phantom

    classes = ("none", "rim", "septal")
    ph = make_phantom(phase="unenhanced", lesions=[LesionSpec(ENHANCEMENT_PATTERN[c], enhancement=c) for c in classes], seed=605, noise_seed=10_000 + 6050)
    assert (ph.volume.array[ph.liver] >= 600).any()  # the situation tested: bone inside the mask
    res = scan_volume(ph.volume, liver_mask=ph.liver, phase="unenhanced", assess=False)
    drawn = [sorted(set(np.unique(ph.calcium[les.box][les.calcium])) - {0}) for les in res.lesions]
    assert sorted(drawn) == [[1], [2], [3]]  # one lesion per cyst, none merged
    assert [les.features["lesion"] for les in res.lesions] == ["cystic"] * 3
