"""Why a diagnosis ranks where it does: each finding's likelihood ratio against the rest.

The weight of a finding f for diagnosis d is ln P(f | d) − ln P(f | not d), where "not d" is
the other diagnoses weighted by their prior. Positive weights argue for d, negative against;
the sum of weights plus the prior log-odds is not exactly the posterior log-odds (the rest is a
mixture), but each weight says honestly how much that one finding moves d on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepcal.reasoning.evidence import Observation
from hepcal.reasoning.network import Network

SHOWN = 0.05  # |weight| below this (a likelihood ratio within about 5% of 1) is not listed


@dataclass(frozen=True, slots=True)
class Contribution:
    finding: str
    weight: float

    def to_dict(self) -> dict:
        return {"finding": self.finding, "weight": round(self.weight, 4)}


def weights(net: Network, obs: Sequence[Observation]) -> np.ndarray:
    """(k, D) matrix of natural-log likelihood ratios, one row per observation."""
    if not obs:
        return np.zeros((0, len(net.ids)))
    t = net.table[[o.row for o in obs]]  # (k, D)
    pi = net.prior
    rest = (t @ pi)[:, None] - t * pi  # Σ_{d'≠d} π_d' P(f|d')
    p_not = rest / (1.0 - pi)
    with np.errstate(divide="ignore"):
        return np.log(t) - np.log(p_not)


def split(obs: Sequence[Observation], w: np.ndarray, d: int) -> tuple[list[Contribution], list[Contribution]]:
    """Findings for and against diagnosis index ``d``, strongest first."""
    col = w[:, d] if len(obs) else np.zeros(0)
    pro = [Contribution(o.label, float(x)) for o, x in zip(obs, col) if x >= SHOWN]
    con = [Contribution(o.label, float(x)) for o, x in zip(obs, col) if x <= -SHOWN]
    pro.sort(key=lambda c: -c.weight)
    con.sort(key=lambda c: c.weight)
    return pro, con
