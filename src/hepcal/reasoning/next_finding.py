"""Which unobserved finding would help most: expected information gain over the differential.

EIG(V) = H(D | e) − Σ_v P(V=v | e) · H(D | e, V=v), in bits, computed for every variable at
once from the stacked likelihood table. List keys (calcification patterns, prior procedures)
are described as a whole and are not proposed one member at a time. A key that none of the
case's modalities can show (``applicability.yaml``) is not proposed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepcal.findings.contract import contract
from hepcal.reasoning import applicability
from hepcal.reasoning.conditions import flatten
from hepcal.reasoning.network import Network
from hepcal.reasoning.posterior import entropy_bits


@dataclass(frozen=True, slots=True)
class NextFinding:
    finding: str
    expected_information_gain_bits: float
    label: str
    outcomes: dict[str, float]  # P(state | findings so far)

    def to_dict(self) -> dict:
        return {
            "finding": self.finding,
            "expected_information_gain_bits": round(self.expected_information_gain_bits, 4),
            "label": self.label,
            "outcomes": {k: round(v, 4) for k, v in self.outcomes.items()},
        }


def information_gain(net: Network, post: np.ndarray) -> np.ndarray:
    """EIG in bits of every variable of the network, given the current posterior."""
    joint = net.table * post  # (S, D): P(state, d | e)
    p_state = joint.sum(axis=1)
    cond = joint / np.where(p_state > 0, p_state, 1.0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        h_rows = -np.where(cond > 0, cond * np.log2(cond), 0.0).sum(axis=1)
    expected = np.add.reduceat(p_state * h_rows, net.offsets[:-1])
    return entropy_bits(post) - expected


def rank(net: Network, post: np.ndarray, observed_keys: Iterable[str], count: int, *, case: Any = None) -> list[NextFinding]:
    """The ``count`` most informative single-valued keys not yet observed that one of the case's
    modalities can show."""
    observed = set(observed_keys)
    mods = set(flatten(case).get("finding.modality") or ()) if case is not None else set()
    table = applicability.modalities(net.kb.source)
    gains = information_gain(net, post)
    c = contract()
    order = np.argsort(-gains)
    out: list[NextFinding] = []
    for i in order:
        var = net.variables[i]
        if (var.member is not None or var.prior_given or var.key in observed  # prior_given: the priors already assume it
                or not applicability.observable(var.key, mods, table)):
            continue
        if gains[i] < 1e-4:
            break
        lo, hi = net.offsets[i], net.offsets[i + 1]
        p_states = net.table[lo:hi] @ post
        out.append(NextFinding(var.key, float(gains[i]), c.fields[var.key].label, dict(zip(var.states, p_states.tolist()))))
        if len(out) >= count:
            break
    return out
