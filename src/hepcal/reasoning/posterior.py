"""The posterior over diagnoses, by Bayes' rule in log space: exact for the network as fitted
(:func:`posterior`), and averaged over the uncertainty of its likelihoods (:func:`averaged`, what
an assessment shows, with the intervals drawn from the same draws)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hepcal.errors import InputError
from hepcal.reasoning.network import Network


def log_posterior_unnormalised(net: Network, rows: Sequence[int], log_prior: np.ndarray | None = None) -> np.ndarray:
    """log P(d) + Σ log P(observation | d) for every diagnosis d."""
    base = net.log_prior if log_prior is None else log_prior
    if len(rows) == 0:
        return base.copy()
    logp = np.add.reduce(net.log_table.take(rows if type(rows) is list else list(rows), axis=0), axis=0)  # take: a faster gather
    logp += base  # in place: the same sums as base + Σ, one array fewer
    return logp


def posterior(net: Network, rows: Sequence[int], log_prior: np.ndarray | None = None) -> np.ndarray:
    """P(diagnosis | observations): exact, normalised to sum to 1.

    Unobserved variables are simply absent from ``rows``; in this network that *is* the
    marginalisation, since each child's likelihoods sum to one over its states. ``log_prior``
    replaces the default prior (a clinical setting's, see ``setting.py``).
    """
    p = log_posterior_unnormalised(net, rows, log_prior)
    top = np.maximum.reduce(p)
    if not math.isfinite(top):
        raise InputError("these findings together are impossible for every diagnosis in the knowledge base")
    p -= top  # a fresh array: normalised in place
    np.exp(p, out=p)
    p /= np.add.reduce(p)
    return p


def malignancy_probability(net: Network, post: np.ndarray) -> float:
    """P(malignant) = Σ_d P(d | findings) · P(malignant | d)."""
    return float(post @ net.malignant)


def entropy_bits(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


INTERVAL_LEVEL = 0.90


def draw_sums(log_draws: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """(D, draws) Σ over ``rows`` of the drawn log likelihoods, added row after row.

    The same float32 additions in the same order as ``log_draws[rows].sum(axis=0)`` (a reduction
    over the first axis adds row by row), without copying the k selected (D, draws) blocks first.
    """
    it = iter(rows)
    acc = log_draws[next(it)].copy()
    for r in it:
        acc += log_draws[r]
    return acc


def _drawn_posteriors(net: Network, rows: Sequence[int], log_prior: np.ndarray | None) -> np.ndarray:
    """(D, draws) the posterior under each of the network's parameter draws (``Network.log_draws``)."""
    base = net.log_prior if log_prior is None else log_prior  # the setting's priors when one applies
    p = draw_sums(net.log_draws, rows)  # (D, draws)
    p += base.astype(np.float32)[:, None]
    p -= np.maximum.reduce(p, axis=0)
    np.exp(p, out=p)
    p /= np.add.reduce(p, axis=0)
    return p


def _bounds(net: Network, p: np.ndarray, point: np.ndarray, level: float) -> tuple[np.ndarray, tuple[float, float]]:
    """Central ``level`` intervals read from drawn posteriors, widened to contain ``point``."""
    tail = (1.0 - level) / 2.0
    m = p.shape[1]
    lo_i, hi_i = int(np.floor(tail * (m - 1))), int(np.ceil((1.0 - tail) * (m - 1)))
    ordered = np.sort(p, axis=1)  # the order statistics; a full sort of 100 draws beats a partition
    bounds = np.empty((len(point), 2))
    np.minimum(ordered[:, lo_i], point, out=bounds[:, 0])
    np.maximum(ordered[:, hi_i], point, out=bounds[:, 1])
    mal = np.sort(net.malignant @ p)
    pm = malignancy_probability(net, point)
    return bounds, (float(min(mal[lo_i], pm)), float(max(mal[hi_i], pm)))


def averaged(net: Network, rows: Sequence[int], level: float = INTERVAL_LEVEL,
             log_prior: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The probability an assessment shows, with its intervals: the posterior averaged over the
    uncertainty of the fitted likelihoods (the mean over the same draws the intervals come from).

    Why not the posterior at the likelihoods' means (:func:`posterior`, exact for the network as
    fitted): that would be the answer if the findings were independent given the diagnosis and
    the fitted numbers were the truth; they are neither, and cross-validated over the case
    library the plug-in posterior is over-confident where averaging it is not (calibration,
    ranking and log loss all better; docs/knowledge-base.md, "The probability shown"). Averaging
    has no parameter to tune. Returns (point (D,), intervals (D, 2), P(malignant) interval).
    """
    exact = posterior(net, rows, log_prior)  # also refuses findings impossible for every diagnosis
    if len(rows) == 0:
        return exact, np.column_stack([exact, exact]), (malignancy_probability(net, exact),) * 2
    p = _drawn_posteriors(net, rows, log_prior)
    point = p.mean(axis=1, dtype=np.float64)
    point /= point.sum()
    bounds, mal = _bounds(net, p, point, level)
    return point, bounds, mal


def averaged_many(net: Network, X: np.ndarray, log_draws: np.ndarray) -> np.ndarray:
    """(N, D) :func:`averaged`'s point for many cases at once (rows of the 0/1 design X, default
    priors) under other draws ``log_draws`` (S, D, M): what choosing the prior strength scores."""
    S, D, M = log_draws.shape
    logp = (X.astype(np.float32) @ log_draws.reshape(S, D * M)).reshape(len(X), D, M)
    logp += net.log_prior.astype(np.float32)[None, :, None]
    logp -= logp.max(axis=1, keepdims=True)
    np.exp(logp, out=logp)
    logp /= logp.sum(axis=1, keepdims=True)
    p = logp.mean(axis=2, dtype=np.float64)
    return p / p.sum(axis=1, keepdims=True)

