"""Scores of a differential against proven diagnoses, with bootstrap 95 % intervals.

A case may have several acceptable ids; they count as one class: the case is a top-1 hit when
the leading diagnosis is acceptable, its rank is that of the best-placed acceptable id, its log
loss is −ln Σ P(acceptable), and its Brier score is that of the partition in which the
acceptable ids are merged. Calibration is read on the leading diagnosis: ECE over 10
equal-width bins of its probability, and the slope and intercept of a logistic recalibration
logit P(top correct) = a + b · logit(top probability) (perfect: a = 0, b = 1). Per diagnosis,
top-1 and top-3 get Wilson intervals over that diagnosis's cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FLAG_ACTIONS = ("biopsy", "surgical_referral")  # a needle or surgery
FLAG_MALIGNANCY = 0.10  # a malignant case is flagged at P(malignant) >= 0.10 or a flag action
# (a second, wider measure counts the upper bound of P(malignant)'s 90 % interval, which is what
# the output's "malignancy cannot be excluded" reads)
BINS = 10
BOOTSTRAP = 400
RIDGE = 0.1
BOOTSTRAP_SEED = 7


@dataclass
class Scores:
    """Per-case results of one model, pooled over folds and repeats (one row per scoring)."""

    case: list[str] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)  # first acceptable id
    top1: list[bool] = field(default_factory=list)
    top3: list[bool] = field(default_factory=list)
    rank: list[int] = field(default_factory=list)
    brier: list[float] = field(default_factory=list)
    log_loss: list[float] = field(default_factory=list)
    top_probability: list[float] = field(default_factory=list)
    p_malignant: list[float] = field(default_factory=list)
    malignant: list[bool] = field(default_factory=list)
    action: list[str] = field(default_factory=list)
    atypical: list[bool | None] = field(default_factory=list)
    p_malignant_upper: list[float] = field(default_factory=list)  # upper end of the 90 % interval

    def add(self, case_ids: Sequence[str], diagnoses: Sequence[str], probs: np.ndarray, acceptable: np.ndarray,
            p_malignant: np.ndarray, malignant: np.ndarray, actions: Sequence[str], atypical: Sequence[bool | None],
            p_malignant_upper: np.ndarray | None = None) -> None:
        """Add the scored cases of one fold: ``probs`` (N, D), ``acceptable`` (N, D) bool.
        ``p_malignant_upper``: the upper bound the output states (a model without intervals: the point)."""
        p_true = np.where(acceptable, probs, 0.0).sum(axis=1)
        best_true = np.where(acceptable, probs, -1.0).max(axis=1)
        rank = 1 + (np.where(~acceptable, probs, -1.0) > best_true[:, None]).sum(axis=1)
        brier = (1.0 - p_true) ** 2 + np.where(~acceptable, probs ** 2, 0.0).sum(axis=1)
        self.case += list(case_ids)
        self.diagnosis += list(diagnoses)
        self.top1 += (rank == 1).tolist()
        self.top3 += (rank <= 3).tolist()
        self.rank += rank.tolist()
        self.brier += brier.tolist()
        self.log_loss += (-np.log(np.clip(p_true, 1e-15, 1.0))).tolist()
        self.top_probability += probs.max(axis=1).tolist()
        self.p_malignant += np.asarray(p_malignant, dtype=float).tolist()
        self.malignant += np.asarray(malignant, dtype=bool).tolist()
        self.action += list(actions)
        self.atypical += list(atypical)
        upper = p_malignant if p_malignant_upper is None else p_malignant_upper
        self.p_malignant_upper += np.asarray(upper, dtype=float).tolist()

    def subset(self, keep: Sequence[bool]) -> "Scores":
        """The scorings where ``keep`` is true (e.g. the cases that state a calcification pattern)."""
        out = Scores()
        for name in self.__dataclass_fields__:
            setattr(out, name, [x for x, k in zip(getattr(self, name), keep) if k])
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in ("top1", "top3", "rank", "brier", "log_loss", "top_probability",
                                                          "p_malignant", "malignant", "p_malignant_upper")} | {
            "flag_action": np.isin(np.asarray(self.action, dtype=object), FLAG_ACTIONS)}


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = BINS) -> float:
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    n = np.bincount(idx, minlength=bins)
    gap = np.abs(np.bincount(idx, conf, bins) - np.bincount(idx, correct.astype(float), bins))
    return float(gap.sum() / max(n.sum(), 1))


def recalibration(conf: np.ndarray, correct: np.ndarray, iterations: int = 30) -> tuple[float, float]:
    """(intercept, slope) of logit P(correct) = a + b · logit(conf), by Newton's method.

    A weak pull towards perfect calibration (a ridge of :data:`RIDGE` around a = 0, b = 1, worth
    a fraction of one case) keeps the estimate finite when a bootstrap resample separates
    perfectly; on real samples it moves the estimate by well under its interval."""
    x = np.log(np.clip(conf, 1e-6, 1 - 1e-6) / np.clip(1 - conf, 1e-6, 1))
    A = np.column_stack([np.ones_like(x), x])
    y = correct.astype(float)
    centre = np.array([0.0, 1.0])

    def objective(beta: np.ndarray) -> float:
        z = A @ beta
        return float((y * z - np.logaddexp(0.0, z)).sum() - 0.5 * RIDGE * ((beta - centre) ** 2).sum())

    beta = centre.copy()
    value = objective(beta)
    for _ in range(iterations):
        p = np.exp(-np.logaddexp(0.0, -(A @ beta)))
        w = p * (1 - p)
        H = A.T @ (A * w[:, None]) + RIDGE * np.eye(2)
        step = np.linalg.solve(H, A.T @ (y - p) - RIDGE * (beta - centre))
        t = 1.0
        while t > 1e-6 and objective(beta + t * step) < value:  # damped: never a worse fit
            t /= 2
        beta = beta + t * step
        value = objective(beta)
        if np.abs(t * step).max() < 1e-8:
            break
    return float(beta[0]), float(beta[1])


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return None
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def _stats(a: dict[str, np.ndarray]) -> dict[str, float | None]:
    mal = a["malignant"]
    flagged = (a["p_malignant"] >= FLAG_MALIGNANCY) | a["flag_action"]
    # what the output says in words: "malignancy cannot be excluded" reads the interval's upper bound
    stated = (a["p_malignant_upper"] >= FLAG_MALIGNANCY) | a["flag_action"]
    intercept, slope = recalibration(a["top_probability"], a["top1"])
    return {
        "top1": float(a["top1"].mean()),
        "top3": float(a["top3"].mean()),
        "mean_rank": float(a["rank"].mean()),
        "brier": float(a["brier"].mean()),
        "log_loss": float(a["log_loss"].mean()),
        "ece": ece(a["top_probability"], a["top1"]),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "auc_malignant": auc(a["p_malignant"], mal),
        "malignant_flagged": float(flagged[mal].mean()) if mal.any() else None,
        "malignant_not_excluded": float(stated[mal].mean()) if mal.any() else None,
        "benign_to_needle_or_surgery": float(a["flag_action"][~mal].mean()) if (~mal).any() else None,
    }


def wilson(hits: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (stays inside [0, 1] for small n)."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def summarise(scores: Scores, bootstrap: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:
    """Every measure with its 95 % interval: cases resampled with replacement (a case keeps all
    its scorings from every repeat together), percentile interval. A measure biased by resampling
    (ECE: noise adds miscalibration) can have a percentile interval that misses its own value on a
    well-calibrated model; the interval is then widened to contain the value, as the engine's
    probability intervals are."""
    a = scores.arrays()
    n_rows = len(scores.case)
    if n_rows == 0:
        return {"n_cases": 0, "n_scorings": 0, "measures": {}, "per_diagnosis": {}}
    cases = np.asarray(scores.case, dtype=object)
    uniq, inverse = np.unique(cases, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(uniq))]
    point = _stats(a)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(bootstrap):
        pick = np.concatenate([members[i] for i in rng.integers(0, len(uniq), len(uniq))])
        for k, v in _stats({k: x[pick] for k, x in a.items()}).items():
            if v is not None:
                draws[k].append(v)
    measures = {}
    for k, v in point.items():
        lo, hi = (np.percentile(draws[k], [2.5, 97.5]).tolist() if draws.get(k) else (None, None))
        if lo is not None and v is not None:
            lo, hi = min(lo, v), max(hi, v)
        measures[k] = {"value": v, "low": lo, "high": hi}
    mal = a["malignant"]
    measures["malignant_cases"] = {"value": int(len({c for c, m in zip(scores.case, mal) if m}))}
    measures["benign_cases"] = {"value": int(len({c for c, m in zip(scores.case, mal) if not m}))}
    known = [x for x in scores.atypical if x is not None]
    if known:
        measures["atypical_rate"] = {"value": float(np.mean(known))}
    per: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(scores.diagnosis):
        per[d].append(i)
    per_diagnosis = {}
    for d, rows in sorted(per.items()):  # Wilson intervals over the diagnosis's cases (repeats averaged)
        n_d = len(set(cases[rows]))
        top1, top3 = float(a["top1"][rows].mean()), float(a["top3"][rows].mean())
        per_diagnosis[d] = {"cases": n_d, "top1": top1, "top1_interval": wilson(top1 * n_d, n_d), "top3": top3,
                            "top3_interval": wilson(top3 * n_d, n_d), "mean_rank": float(a["rank"][rows].mean())}
    return {"n_cases": int(len(uniq)), "n_scorings": n_rows, "measures": measures, "per_diagnosis": per_diagnosis}
