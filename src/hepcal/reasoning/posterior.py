"""The exact posterior over diagnoses, by Bayes' rule in log space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepcal.errors import InputError
from hepcal.reasoning.network import Network


def log_posterior_unnormalised(net: Network, rows: Sequence[int], log_prior: np.ndarray | None = None) -> np.ndarray:
    """log P(d) + Σ log P(observation | d) for every diagnosis d."""
    base = net.log_prior if log_prior is None else log_prior
    if len(rows) == 0:
        return base.copy()
    return base + net.log_table[list(rows)].sum(axis=0)


def posterior(net: Network, rows: Sequence[int], log_prior: np.ndarray | None = None) -> np.ndarray:
    """P(diagnosis | observations): exact, normalised to sum to 1.

    Unobserved variables are simply absent from ``rows``; in this network that *is* the
    marginalisation, since each child's likelihoods sum to one over its states. ``log_prior``
    replaces the default prior (a clinical setting's, see ``setting.py``).
    """
    logp = log_posterior_unnormalised(net, rows, log_prior)
    top = logp.max()
    if not np.isfinite(top):
        raise InputError("these findings together are impossible for every diagnosis in the knowledge base")
    p = np.exp(logp - top)
    return p / p.sum()


def malignancy_probability(net: Network, post: np.ndarray) -> float:
    """P(malignant) = Σ_d P(d | findings) · P(malignant | d)."""
    return float(post @ net.malignant)


def entropy_bits(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


INTERVAL_LEVEL = 0.90


def intervals(net: Network, rows: Sequence[int], level: float = INTERVAL_LEVEL, log_prior: np.ndarray | None = None,
              point: np.ndarray | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """Central ``level`` intervals of every diagnosis's probability and of P(malignant).

    They carry the uncertainty of the likelihoods: the posterior is recomputed under each of
    the network's parameter draws (``Network.log_draws``, fixed seed, so the output is
    deterministic) and the interval is read from those posteriors' quantiles. Priors and
    P(malignant | diagnosis) are population estimates and are held fixed. Each interval is
    widened, if needed, to contain the point probability (computed from the posterior means).
    ``point`` is that posterior when the caller has it already (under the same ``log_prior``).
    Returns ((D, 2) array of [low, high], (low, high) of P(malignant)).
    """
    point = posterior(net, rows, log_prior) if point is None else point
    tail = (1.0 - level) / 2.0
    if len(rows) == 0:
        return np.column_stack([point, point]), (malignancy_probability(net, point),) * 2
    base = net.log_prior if log_prior is None else log_prior  # the setting's priors when one applies
    logp = net.log_draws[list(rows)].sum(axis=0) + base[:, None].astype(np.float32)  # (D, draws)
    logp -= logp.max(axis=0)
    p = np.exp(logp)
    p /= p.sum(axis=0)
    m = p.shape[1]
    lo_i, hi_i = int(np.floor(tail * (m - 1))), int(np.ceil((1.0 - tail) * (m - 1)))
    ordered = np.partition(p, (lo_i, hi_i), axis=1)  # only the two order statistics are needed
    bounds = np.column_stack([np.minimum(ordered[:, lo_i], point), np.maximum(ordered[:, hi_i], point)])
    mal = np.partition(net.malignant @ p, (lo_i, hi_i))
    pm = malignancy_probability(net, point)
    return bounds, (float(min(mal[lo_i], pm)), float(max(mal[hi_i], pm)))
