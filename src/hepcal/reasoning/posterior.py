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
