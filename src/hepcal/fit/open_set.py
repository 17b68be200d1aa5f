"""The threshold of the "none of these fits" flag, calibrated on cases the fit has not seen.

The flag (:mod:`hepcal.reasoning.atypical`) compares a case's best-fit score with a quantile of
the scores of the library's in-vocabulary cases. Read on the very cases the likelihoods were
fitted to, those scores are better than a new case's, so a threshold taken from them flags
more unseen in-vocabulary cases than its quantile says (8 % for a nominal 5 % in
cross-validation). Here every in-vocabulary development case is scored by a fit made without
its fold (K-fold × R, at the shipped strength), and every case outside the vocabulary by each
fold's fit; the threshold is the quantile of the out-of-fold in-vocabulary scores, so the stated
rate is the rate on unseen cases, and the rate on out-of-vocabulary cases at that threshold is
what the flag measures. Development cases only: the hold-out is never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepcal.fit.cv import FOLDS, REPEATS, SEED, Library, fit_on, stratified_folds
from hepcal.reasoning.atypical import Calibration, judge
from hepcal.reasoning.network import Network


@dataclass(frozen=True)
class OutOfFold:
    """Best-fit scores of cases scored by fits that did not see them (NaN: too few findings)."""

    in_vocabulary: np.ndarray  # one score per in-vocabulary case and repeat
    out_of_vocabulary: np.ndarray  # one score per out-of-vocabulary case and fold fit
    repeats: int = 1  # each in-vocabulary case is scored once per repeat
    fits: int = 1  # each out-of-vocabulary case is scored once per fold fit

    @property
    def cases(self) -> int:
        """In-vocabulary cases with enough findings to be scored."""
        return int(np.isfinite(self.in_vocabulary).sum()) // max(self.repeats, 1)

    @property
    def out_of_vocabulary_cases(self) -> int:
        """Out-of-vocabulary cases with enough findings to be scored."""
        return int(np.isfinite(self.out_of_vocabulary).sum()) // max(self.fits, 1)

    def flag_rates(self, threshold: float) -> tuple[float, float]:
        """(in-vocabulary, out-of-vocabulary) share of scored cases below ``threshold``."""
        return _rate(self.in_vocabulary, threshold), _rate(self.out_of_vocabulary, threshold)


def _rate(scores: np.ndarray, threshold: float) -> float:
    s = scores[np.isfinite(scores)]
    return float((s < threshold).mean()) if len(s) else float("nan")


def _scores(net: Network, X: np.ndarray, min_observed: int) -> np.ndarray:
    probe = Calibration(-np.inf, 0.0, 0, min_observed)
    return np.array([judge(net, np.flatnonzero(x), probe).score for x in X])


def out_of_fold_scores(lib: Library, strength: float, min_observed: int, k: int = FOLDS, repeats: int = REPEATS,
                       seed: int = SEED) -> OutOfFold:
    """Every development case's score under fits (estimates at ``strength`` + counts of the other
    folds + series counts) that did not see it."""
    d_all = lib.design
    inv = d_all.subset(np.flatnonzero(d_all.in_vocabulary))
    oov_X = d_all.X[~d_all.in_vocabulary]
    rng = np.random.default_rng(seed)
    ins: list[np.ndarray] = []
    outs: list[np.ndarray] = []
    for _ in range(repeats):
        folds = stratified_folds(inv.first, k, rng)
        for f in range(k):
            net = fit_on(lib, inv.subset(np.flatnonzero(folds != f)), strength)
            ins.append(_scores(net, inv.X[folds == f], min_observed))
            outs.append(_scores(net, oov_X, min_observed))
    return OutOfFold(np.concatenate(ins) if ins else np.zeros(0), np.concatenate(outs) if outs else np.zeros(0), repeats, k * repeats)


def calibrate(oof: OutOfFold, quantile: float, min_observed: int) -> Calibration:
    """The threshold: the ``quantile`` of the out-of-fold in-vocabulary scores."""
    s = oof.in_vocabulary[np.isfinite(oof.in_vocabulary)]
    return Calibration(float(np.quantile(s, quantile)) if len(s) else -np.inf, quantile, oof.cases, min_observed)


def trade_off(oof: OutOfFold, quantiles: Sequence[float]) -> list[dict[str, float]]:
    """For each candidate quantile, the flag rate on unseen in-vocabulary and out-of-vocabulary cases."""
    rows = []
    for q in quantiles:
        cal = calibrate(oof, q, 0)
        inside, outside = oof.flag_rates(cal.threshold)
        rows.append({"quantile": q, "threshold": cal.threshold, "in_vocabulary": inside, "out_of_vocabulary": outside})
    return rows


#: Quantiles whose trade-off ``atypical.yaml`` records beside the one in use.
TRADE_OFF_QUANTILES = (0.05, 0.10, 0.15, 0.20)


def recalibrate(net: Network, quantile: float | None = None, min_observed: int | None = None) -> tuple[Calibration, OutOfFold]:
    """Rebuild ``atypical.yaml`` for the shipped knowledge base's network ``net`` (freshly fitted):
    out-of-fold scores at the fit's strength, the stored quantile unless another is given."""
    from hepcal.fit.cv import library
    from hepcal.reasoning.atypical import calibration, write_calibration

    old = calibration()
    quantile = old.quantile if quantile is None else quantile
    min_observed = old.min_observed if min_observed is None else min_observed
    oof = out_of_fold_scores(library(net.kb), net.strength, min_observed)
    cal = calibrate(oof, quantile, min_observed)
    inside, outside = oof.flag_rates(cal.threshold)
    table = [{k: round(v, 4) for k, v in row.items()} for row in trade_off(oof, TRADE_OFF_QUANTILES)]
    write_calibration(cal, net.version, {"strength": net.strength, "out_of_vocabulary_cases": oof.out_of_vocabulary_cases,
                                         "flagged_out_of_fold": {"in_vocabulary": round(inside, 4), "out_of_vocabulary": round(outside, 4)},
                                         "trade_off": table})
    calibration.cache_clear()
    return cal, oof
