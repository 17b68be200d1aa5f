"""Whether the finding the assessment proposes next is worth looking for, measured on the library.

Every assessment ranks the findings not yet entered by their expected information gain. A
library case states some findings; hide a random half of those the assessment could propose
(single-valued keys), assess the rest as the engine does (the setting's priors, the probability
shown), and ask what each hidden finding, added back with the value the article states, does to
the probability of the proven diagnosis. The measure compares the hidden finding the ranking puts
first with a hidden finding taken at random (their mean) and with the one it puts last. Under the
model itself the expected gain in log probability of the true diagnosis *is* the information
gain (in nats), so the ranking is right by construction there; on published cases it has to earn it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepcal.fit.dirichlet import Design
from hepcal.reasoning.assessment import setting_of
from hepcal.reasoning.evidence import observations
from hepcal.reasoning.network import Network
from hepcal.reasoning.next_finding import proposable, information_gain
from hepcal.reasoning.posterior import averaged

SPLITS = 5  # random hidden halves per case and scoring


@dataclass
class NextCheck:
    """Per split: the case, the gains in ln P(proven diagnosis) of the proposed, a random and the
    last-ranked hidden finding, and whether the first diagnosis is right before and after."""

    rows: list[tuple[str, float, float, float, bool, bool, float]] = field(default_factory=list)

    def add(self, net: Network, d: Design, rng: np.random.Generator, splits: int = SPLITS) -> None:
        """Score the cases of ``d`` (in the vocabulary) with ``net``."""
        can_propose = np.array([p[0] for p in proposable(net)])
        var_of_row = np.repeat(np.arange(len(net.variables)), np.diff(net.offsets))
        for i, c in enumerate(d.cases):
            obs = observations(c.case, net)
            candidates = [k for k, o in enumerate(obs) if can_propose[var_of_row[o.row]]]
            if len(candidates) < 2:
                continue
            ok = d.acceptable[i]
            for _ in range(splits):
                hidden = set(rng.choice(candidates, size=len(candidates) // 2, replace=False).tolist())
                kept = [o for k, o in enumerate(obs) if k not in hidden]
                before = self._probability(net, kept)
                gains = information_gain(net, before)
                ranked = sorted(hidden, key=lambda k: (-gains[var_of_row[obs[k].row]], k))
                delta, right = [], []
                for k in ranked:
                    after = self._probability(net, [*kept, obs[k]])
                    delta.append(float(np.log(after[ok].sum()) - np.log(before[ok].sum())))
                    right.append(bool(ok[after.argmax()]))
                self.rows.append((c.id, delta[0], float(np.mean(delta)), delta[-1], bool(ok[before.argmax()]),
                                  right[0], float(np.mean(right))))

    @staticmethod
    def _probability(net: Network, obs: Sequence[Any]) -> np.ndarray:
        """The probability an assessment of these observations shows."""
        return averaged(net, [o.row for o in obs], log_prior=setting_of(net, list(obs)).log_prior)[0]

    def summary(self, seed: int = 0, draws: int = 1000) -> dict[str, Any]:
        """Means with 95 % intervals by bootstrap over cases (a case's splits move together)."""
        if not self.rows:
            return {"cases": 0, "splits": 0}
        ids = sorted({r[0] for r in self.rows})
        where = {c: k for k, c in enumerate(ids)}
        data = np.array([r[1:] for r in self.rows], dtype=float)
        case_of = np.array([where[r[0]] for r in self.rows])
        sums = np.zeros((len(ids), data.shape[1]))
        np.add.at(sums, case_of, data)
        n = np.bincount(case_of, minlength=len(ids)).astype(float)
        rng = np.random.default_rng(seed)
        picks = rng.integers(len(ids), size=(draws, len(ids)))
        boot = sums[picks].sum(axis=1) / n[picks].sum(axis=1)[:, None]
        value = sums.sum(axis=0) / n.sum()
        low, high = np.percentile(boot, [2.5, 97.5], axis=0)
        names = ("gain_proposed", "gain_random", "gain_last", "top1_before", "top1_after_proposed", "top1_after_random")
        out: dict[str, Any] = {"cases": len(ids), "splits": len(self.rows)}
        for j, name in enumerate(names):
            out[name] = {"value": float(value[j]), "low": float(low[j]), "high": float(high[j])}
        diff = (sums[:, 0] - sums[:, 1])
        boot_diff = diff[picks].sum(axis=1) / n[picks].sum(axis=1)
        out["proposed_minus_random"] = {"value": float(diff.sum() / n.sum()), "low": float(np.percentile(boot_diff, 2.5)),
                                        "high": float(np.percentile(boot_diff, 97.5))}
        return out
