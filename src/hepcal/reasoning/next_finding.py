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
from hepcal.reasoning.conditions import entered
from hepcal.reasoning.evidence import superseded
from hepcal.reasoning.network import Network, per_network
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
    p_state = np.add.reduce(joint, axis=1)
    joint /= np.where(p_state > 0, p_state, 1.0)[:, None]  # in place: P(d | e, state)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.log2(joint)
        h *= joint
        h_rows = -np.add.reduce(np.where(joint > 0, h, 0.0), axis=1)
    expected = np.add.reduceat(p_state * h_rows, net.offsets[:-1])
    return entropy_bits(post) - expected


@per_network
def proposable(net: Network) -> tuple[tuple[bool, str, str, tuple[str, ...], int, int], ...]:
    """(proposable, key, label, states, first row, end row) of every variable: a single-valued
    variable that the priors do not already assume (``prior_given``)."""
    fields = contract().fields
    return tuple((var.member is None and not var.prior_given, var.key, fields[var.key].label if var.member is None else "", var.states,
                  int(net.offsets[i]), int(net.offsets[i + 1])) for i, var in enumerate(net.variables))


def rank(net: Network, post: np.ndarray, observed_keys: Iterable[str], count: int, *, case: Any = None) -> list[NextFinding]:
    """The ``count`` most informative single-valued keys not yet observed that one of the case's
    modalities can show."""
    observed = set(observed_keys)
    flat = entered(case) if case is not None else {}
    mods = set(flat.get("finding.modality") or ())
    table = applicability.modalities(net.kb.source)
    gains = information_gain(net, post)
    values = gains.tolist()
    variables = proposable(net)
    out: list[NextFinding] = []
    for i in (-gains).argsort().tolist():
        single, key, label, states, lo, hi = variables[i]
        if not single or key in observed or not applicability.observable(key, mods, table) or superseded(net.variables[i].superseded_by, flat):
            continue  # a key another entered key already answers (a calcified central scar: the scar) is not asked
        if values[i] < 1e-4:
            break
        p_states = net.table[lo:hi] @ post
        out.append(NextFinding(key, values[i], label, dict(zip(states, p_states.tolist()))))
        if len(out) >= count:
            break
    return out
