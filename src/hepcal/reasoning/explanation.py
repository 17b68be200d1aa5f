"""Why a diagnosis ranks where it does: each finding's likelihood ratio against the rest.

The weight of a finding f for diagnosis d is ln P(f | d) − ln P(f | not d), where "not d" is
the other diagnoses weighted by their prior. Positive weights argue for d, negative against;
the sum of weights plus the prior log-odds is not exactly the posterior log-odds (the rest is a
mixture), but each weight says honestly how much that one finding moves d on its own.

A list key given in a case also says which members are absent ("implied negatives"). Listed one
by one they bury the entered findings, so per diagnosis they are folded into one line per key
("other calcification patterns absent", weight = the sum of the members' weights, listed for or
against by its sign), and a folded line whose weight stays below the policy's
``implied_min_weight`` in size is dropped (``policy.yaml``: ``for_against``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepcal.knowledge.schema import ForAgainst
from hepcal.reasoning.evidence import Observation
from hepcal.reasoning.network import Network
from hepcal.reasoning.setting import Choice

SHOWN = 0.05  # |weight| below this (a likelihood ratio within about 5% of 1) is not listed
LISTED = 6  # strongest findings listed for and against each diagnosis (hepcal explain shows all)


@dataclass(frozen=True, slots=True)
class Contribution:
    finding: str
    weight: float

    def to_dict(self) -> dict:
        return {"finding": self.finding, "weight": round(self.weight, 4)}


def weight_row(probs: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """ln P(f | d) − ln P(f | not d), "not d" the other diagnoses weighted by ``prior``."""
    with np.errstate(divide="ignore"):
        return np.log(probs) - np.log((probs @ prior - probs * prior) / (1.0 - prior))


def weights(net: Network, obs: Sequence[Observation], setting: Choice | None = None) -> np.ndarray:
    """(k, D) matrix of natural-log likelihood ratios, one row per observation.

    The weight of a state depends only on the knowledge base, so it is a row of the network's
    precomputed ``weight_table``; in a clinical setting, the variable that placed the case there
    is weighed within the setting (renormalised over its states, against the setting's prior).
    """
    if not obs:
        return np.zeros((0, len(net.ids)))
    w = net.weight_table.take([o.row for o in obs], axis=0)  # a copy
    if setting is not None and setting.log_mass:
        for k, o in enumerate(obs):
            if o.variable in setting.log_mass:
                w[k] = weight_row(setting.within(o.variable, net.table[o.row]), setting.prior)
    return w


class Basis:
    """Observations and their weights for one assessment, with every diagnosis's strongest
    findings for and against extracted in one vectorised pass (lists are built on demand)."""

    def __init__(self, obs: Sequence[Observation], w: np.ndarray, limit: int = LISTED, fold: ForAgainst | None = None):
        self.obs = list(obs)
        self.weights = w
        self._labels = [o.label for o in self.obs]
        if fold is not None and self.obs:
            w = self._fold(w, fold)
        k = len(self._labels)
        if k:
            order = (-w).argsort(axis=0, kind="stable")
            n = min(limit, k)
            top, bottom = order[:n], order[::-1][:n]
            cols = np.arange(w.shape[1])
            self._top = top.T.tolist()
            self._top_w = w[top, cols].T.tolist()
            self._bottom = bottom.T.tolist()
            self._bottom_w = w[bottom, cols].T.tolist()

    def _fold(self, w: np.ndarray, fold: ForAgainst) -> np.ndarray:
        """Replace the implied-negative rows by one folded row per list key (their summed weight)."""
        groups: dict[str, list[int]] = {}
        keep: list[int] = []
        for i, o in enumerate(self.obs):
            key, sep, _ = o.label.partition("≠")
            if sep:
                groups.setdefault(key, []).append(i)
            else:
                keep.append(i)
        if not groups:
            return w
        rows = [w[keep]]
        labels = [self._labels[i] for i in keep]
        for key, idx in groups.items():
            block = w[idx]
            label = fold.folded_labels.get(key, f"other values of {key} absent")
            net = block.sum(0)
            rows.append(np.where(np.abs(net) >= fold.implied_min_weight, net, 0.0)[None, :])
            labels.append(label)
        self._labels = labels
        return np.vstack(rows)

    def split(self, d: int) -> tuple[list[Contribution], list[Contribution]]:
        """Findings for and against diagnosis index ``d``, strongest first."""
        if not self.obs:
            return [], []
        labels = self._labels
        pro = [Contribution(labels[i], x) for i, x in zip(self._top[d], self._top_w[d]) if x >= SHOWN]
        con = [Contribution(labels[i], x) for i, x in zip(self._bottom[d], self._bottom_w[d]) if x <= -SHOWN]
        return pro, con

    def split_dicts(self, d: int) -> tuple[list[dict], list[dict]]:
        """The same as :meth:`split`, directly as output dictionaries (weights to 4 decimals)."""
        if not self.obs:
            return [], []
        labels = self._labels
        pro = [{"finding": labels[i], "weight": round(x, 4)} for i, x in zip(self._top[d], self._top_w[d]) if x >= SHOWN]
        con = [{"finding": labels[i], "weight": round(x, 4)} for i, x in zip(self._bottom[d], self._bottom_w[d]) if x <= -SHOWN]
        return pro, con
