"""The measures of `hepcal validate`, on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from hepcal.fit.metrics import Scores, auc, ece, recalibration, summarise


def test_scores_merge_acceptable_ids_into_one_class():
    s = Scores()
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.3, 0.6]])
    acc = np.array([[False, True, True], [True, False, False]])
    s.add(["a", "b"], ["x", "y"], probs, acc, np.array([0.2, 0.01]), np.array([True, False]), ["biopsy", "no_follow_up"], [None, None])
    assert s.rank == [2, 3] and s.top1 == [False, False] and s.top3 == [True, True]
    assert s.brier[0] == pytest.approx((1 - 0.5) ** 2 + 0.5 ** 2)
    assert s.log_loss[1] == pytest.approx(-np.log(0.1))


def test_ece_auc_and_recalibration():
    conf = np.array([0.95, 0.95, 0.15, 0.15])
    assert ece(conf, np.array([True, True, False, False])) == pytest.approx(0.1)
    assert auc(np.array([0.9, 0.8, 0.1, 0.8]), np.array([True, True, False, False])) == pytest.approx(0.875)
    assert auc(np.array([0.5]), np.array([True])) is None
    rng = np.random.default_rng(3)
    c = rng.uniform(0.05, 0.95, 20000)
    a, b = recalibration(c, rng.uniform(size=c.size) < c)  # calibrated by construction
    assert abs(a) < 0.1 and abs(b - 1) < 0.1
    a, b = recalibration(c, rng.uniform(size=c.size) < 0.5 + 0.5 * (c - 0.5))  # over-confident
    assert b < 0.7
    # perfect separation stays finite
    a, b = recalibration(np.array([0.99, 0.99, 0.6, 0.6]), np.array([True, True, False, False]))
    assert np.isfinite(a) and np.isfinite(b) and abs(b) < 50


def test_summary_has_intervals_around_the_point_estimate():
    s = Scores()
    rng = np.random.default_rng(0)
    n, d = 60, 4
    probs = rng.dirichlet(np.ones(d), n)
    acc = np.zeros((n, d), bool)
    acc[np.arange(n), rng.integers(0, d, n)] = True
    mal = rng.uniform(size=n) < 0.3
    s.add([f"c{i}" for i in range(n)], ["x"] * n, probs, acc, rng.uniform(size=n), mal, ["no_follow_up"] * n, [None] * n)
    out = summarise(s, bootstrap=200)
    for k in ("top1", "top3", "brier", "log_loss", "ece", "auc_malignant", "calibration_slope"):
        m = out["measures"][k]
        assert m["low"] <= m["value"] <= m["high"], k
    assert out["n_cases"] == n and out["per_diagnosis"]["x"]["cases"] == n
    assert out["measures"]["benign_to_needle_or_surgery"]["value"] == 0.0


def test_wilson_interval():
    from hepcal.fit.metrics import wilson

    lo, hi = wilson(0, 3)
    assert lo == 0.0 and 0.5 < hi < 0.6
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.404, abs=0.002) and hi == pytest.approx(0.596, abs=0.002)


def test_malignancy_not_excluded_reads_the_upper_bound_and_subsets_keep_their_rows():
    """A malignant case at P = 5 % whose interval reaches 20 % is "not excluded" (the output says so)
    but not flagged by the point; a subset keeps exactly its scorings."""
    s = Scores()
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    acc = np.array([[True, False], [True, False], [False, True]])
    s.add(["a", "b", "c"], ["x", "x", "y"], probs, acc, np.array([0.05, 0.02, 0.5]), np.array([True, True, False]),
          ["further_imaging", "follow_up", "biopsy"], [None] * 3, np.array([0.20, 0.04, 0.7]))
    m = summarise(s, bootstrap=20)["measures"]
    assert m["malignant_flagged"]["value"] == 0.0 and m["malignant_not_excluded"]["value"] == 0.5
    sub = s.subset([True, False, True])
    assert sub.case == ["a", "c"] and sub.p_malignant_upper == [0.20, 0.7] and sub.top1 == [True, False]
    # without intervals (the textbook lists) the upper bound is the point
    t = Scores()
    t.add(["a"], ["x"], probs[:1], acc[:1], np.array([0.05]), np.array([True]), ["follow_up"], [None])
    assert t.p_malignant_upper == [0.05]


def test_an_interval_contains_its_value_even_for_a_measure_biased_by_resampling():
    """ECE of a calibrated model is 0, and almost every resample's ECE is above it: the
    percentile interval alone would miss the value, so it is widened to contain it."""
    s = Scores()
    rows, right = [], []
    for top, k in ((0.35, 7), (0.55, 11), (0.75, 15), (0.95, 19)):  # 20 cases per bin, right top * 20 times
        rest = (1 - top) / 2
        rows += [[top, rest, rest]] * 20
        right += [0] * k + [1] * (20 - k)
    n = len(rows)
    acc = np.zeros((n, 3), bool)
    acc[np.arange(n), right] = True
    s.add([f"c{i}" for i in range(n)], ["x"] * n, np.array(rows), acc, np.zeros(n), np.zeros(n, bool), ["no_follow_up"] * n, [None] * n)
    m = summarise(s, bootstrap=200)["measures"]["ece"]
    assert m["value"] == pytest.approx(0.0, abs=1e-9)
    assert m["low"] == m["value"] < m["high"]
