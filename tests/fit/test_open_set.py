"""The atypical flag's threshold, calibrated on cases the fit did not see (fit/open_set.py)."""

from __future__ import annotations

import numpy as np
import yaml

from hepcal.fit.cv import library
from hepcal.fit.open_set import OutOfFold, calibrate, out_of_fold_scores, trade_off
from hepcal.reasoning import network
from hepcal.reasoning.atypical import Calibration, calibration, calibration_path, judge, write_calibration


def _shipped_oof() -> tuple[OutOfFold, object]:
    net = network()
    cal = calibration()
    return out_of_fold_scores(library(net.kb), net.strength, cal.min_observed), cal


def test_shipped_threshold_is_the_current_library_s_out_of_fold_calibration():
    """atypical.yaml is what `hepcal kb fit` gives on today's library and fit: a library or a fit
    that moved on without it fails here, not silently."""
    oof, cal = _shipped_oof()
    now = calibrate(oof, cal.quantile, cal.min_observed)
    assert cal.cases == now.cases >= 200, "rebuild atypical.yaml: hepcal kb fit"
    assert abs(cal.threshold - now.threshold) < 1e-3, "rebuild atypical.yaml: hepcal kb fit"


def test_the_flag_separates_cases_outside_the_vocabulary_on_unseen_cases():
    """Measured, not assumed: at the shipped threshold the flag rate on unseen in-vocabulary cases
    is its quantile, and cases outside the vocabulary are flagged at least twice as often."""
    oof, cal = _shipped_oof()
    inside, outside = oof.flag_rates(cal.threshold)
    assert abs(inside - cal.quantile) <= 0.01
    assert outside >= 2 * inside
    stored = yaml.safe_load(calibration_path().read_text(encoding="utf-8"))
    assert stored["flagged_out_of_fold"] == {"in_vocabulary": round(inside, 4), "out_of_vocabulary": round(outside, 4)}


def test_a_threshold_read_on_seen_cases_flags_more_unseen_cases_than_stated():
    """Why out-of-fold: the cases a fit has seen score better than unseen ones, so a threshold read
    on them flags more unseen cases than its quantile says."""
    net = network()
    oof, cal = _shipped_oof()
    lib = library(net.kb)
    inv = lib.design.X[lib.design.in_vocabulary]
    probe = Calibration(-np.inf, 0.0, 0, cal.min_observed)
    seen = OutOfFold(np.array([judge(net, np.flatnonzero(x), probe).score for x in inv]), np.zeros(0))
    in_sample = calibrate(seen, cal.quantile, cal.min_observed)
    assert oof.flag_rates(in_sample.threshold)[0] > cal.quantile


def test_calibration_is_the_quantile_of_scored_cases_and_round_trips(tmp_path):
    oof = OutOfFold(np.array([-3.0, -2.0, -1.0, np.inf, -1.5, -0.5]), np.array([-4.0, -0.2, np.inf, -3.0]), repeats=1, fits=2)
    assert oof.out_of_vocabulary_cases == 1  # 3 scorings with enough findings over 2 fold fits
    cal = calibrate(oof, quantile=0.0, min_observed=3)
    assert cal.threshold == -3.0 and cal.cases == 5  # the too-few-findings case (inf) is not scored
    assert oof.flag_rates(-1.75) == (0.4, 2 / 3)
    rows = trade_off(oof, (0.0, 0.5))
    assert [r["quantile"] for r in rows] == [0.0, 0.5] and rows[1]["threshold"] == -1.5
    path = write_calibration(cal, "test", {"flagged_out_of_fold": {"in_vocabulary": 0.4}}, tmp_path / "atypical.yaml")
    stored = yaml.safe_load(path.read_text())
    assert stored["cases"] == 5 and stored["threshold"] == -3.0 and stored["flagged_out_of_fold"]["in_vocabulary"] == 0.4
