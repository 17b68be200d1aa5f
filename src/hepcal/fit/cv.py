"""Choosing the prior strength and scoring the knowledge base by cross-validation.

- :func:`choose_strength`: K-fold cross-validation over the development cases scores every
  strength (pseudo-count of the expert estimate) of :data:`GRID` by the log loss of the proven
  diagnosis and picks one by :func:`pick`.
- :func:`fit_library`: that choice made on all development cases, and the fit with it (what
  ``hepcal kb fit`` writes).
- :func:`cross_validate`: nested cross-validation: R repeats of stratified K-fold; in every outer
  fold the strength is chosen by an inner K-fold on the training folds only, the fit is made on
  the training folds and the test fold is scored, next to the estimates-only knowledge base, the
  textbook-list baseline and a model learned from the training folds alone (:mod:`hepcal.fit.learned`)
  on the same folds.
- :func:`score_holdout`: the one scoring of the frozen hold-out, with the fit on all development
  cases. It is the only function here that reads ``evidence/holdout/``.

Cases outside the vocabulary (no acceptable id) never enter a fit or an accuracy figure; they
are scored by the fit on all development cases for the open-set figures.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepcal.errors import HepcalError
from hepcal.evidence import LibraryCase, SeriesCount, load_cases, load_holdout, load_series
from hepcal.fit import baseline, dirichlet, neighbours, next_check
from hepcal.fit.metrics import Scores, summarise
from hepcal.knowledge import KnowledgeBase
from hepcal.reasoning.assessment import assess_observations
from hepcal.reasoning.evidence import observations
from hepcal.reasoning.network import Network, compile_network, draw_log_likelihoods, with_alpha
from hepcal.reasoning.posterior import averaged_many
from hepcal.reasoning.recommendation import most_invasive

# Strengths tried (cases' worth of belief in an expert estimate). 1000 is the ceiling: more would claim a
# certainty no reading of this literature carries, and the intervals are drawn from it.
GRID: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
FOLDS = 5
REPEATS = 2
SEED = 20261206
MODELS = ("fitted", "estimates", "textbook", "learned")


def stratified_folds(labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of every case: shuffled, then dealt round-robin within each diagnosis."""
    perm = rng.permutation(len(labels))
    order = perm[np.argsort(labels[perm], kind="stable")]
    folds = np.empty(len(labels), dtype=int)
    folds[order] = (np.arange(len(labels)) + rng.integers(k)) % k
    return folds


def _log_loss(net: Network, d: dirichlet.Design, train: np.ndarray, test: np.ndarray, extra: np.ndarray, grid: Sequence[float]) -> np.ndarray:
    """(G, n_test) log loss of every test case for every strength, fitted on the train cases.

    Scored on the probability an assessment shows (the posterior averaged over the likelihood
    draws of that strength's fit), so the strength is chosen for what the user sees."""
    counts = dirichlet.case_counts(net, d.subset(np.flatnonzero(train))) + extra
    X = d.X[test]
    P = np.stack([averaged_many(net, X, draw_log_likelihoods(dirichlet.alpha(net, counts, s), net.offsets, net.reference))
                  for s in grid])
    p_true = np.where(d.acceptable[test][None], P, 0.0).sum(axis=-1)
    return -np.log(np.clip(p_true, 1e-15, 1.0))


def pick(losses: np.ndarray, grid: Sequence[float]) -> int:
    """Index of the strength with the lowest mean held-out loss ((G, cases) losses); a tie goes
    to the smaller strength, the one that gives the data more say."""
    mean = losses.mean(axis=1)
    return int(np.flatnonzero(mean <= mean.min() + 1e-12)[0])


def choose_strength(net: Network, d: dirichlet.Design, extra: np.ndarray, k: int = FOLDS, repeats: int = 1,
                    seed: int = SEED, grid: Sequence[float] = GRID) -> tuple[float, dict[float, float]]:
    """The strength with the lowest cross-validated mean log loss over in-vocabulary cases of ``d``."""
    idx = np.flatnonzero(d.in_vocabulary)
    if len(idx) < 2 * k:
        return float(grid[len(grid) // 2]), {}
    sub = d.subset(idx)
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(repeats):
        folds = stratified_folds(sub.first, k, rng)
        for f in range(k):
            parts.append(_log_loss(net, sub, folds != f, folds == f, extra, grid))
    losses = np.concatenate(parts, axis=1)
    mean = losses.mean(axis=1)
    return float(grid[pick(losses, grid)]), {float(s): float(x) for s, x in zip(grid, mean)}


@dataclass(frozen=True)
class Library:
    """The development evidence, as arrays over one network."""

    net: Network  # the estimates-only network
    design: dirichlet.Design
    series: tuple[SeriesCount, ...]
    series_counts: np.ndarray


def library(kb: KnowledgeBase, root: str | Path | None = None, cases: Sequence[LibraryCase] | None = None,
            series: Sequence[SeriesCount] | None = None) -> Library:
    """Development cases and series counts (never the hold-out)."""
    net = compile_network(kb, fitted=False)
    cases = load_cases(include_holdout=False, root=root) if cases is None else cases
    series = load_series(root=root, kb_folder=kb.source) if series is None else series
    return Library(net, dirichlet.design(net, cases), tuple(series), dirichlet.series_counts(net, series))


@dataclass(frozen=True)
class FitResult:
    strength: float
    cv_log_loss: dict[float, float]
    counts: np.ndarray  # (S, D) cases + series
    net: Network  # the fitted network


def fit_on(lib: Library, d: dirichlet.Design, strength: float) -> Network:
    """The network fitted to the cases of ``d`` (and every series count) at ``strength``."""
    counts = dirichlet.case_counts(lib.net, d) + lib.series_counts
    return with_alpha(lib.net, dirichlet.alpha(lib.net, counts, strength), "fitted", strength)


def fit_library(lib: Library, k: int = FOLDS, repeats: int = REPEATS, seed: int = SEED, grid: Sequence[float] = GRID) -> FitResult:
    """Choose the strength by cross-validation on all development cases, then fit with it."""
    s, losses = choose_strength(lib.net, lib.design, lib.series_counts, k, repeats, seed, grid)
    counts = dirichlet.case_counts(lib.net, lib.design) + lib.series_counts
    return FitResult(s, losses, counts, with_alpha(lib.net, dirichlet.alpha(lib.net, counts, s), "fitted", s))


def _atypical(a: Any) -> bool | None:
    v = getattr(a, "atypical", None)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, dict):
        return bool(v.get("atypical", v.get("flag")))
    return bool(getattr(v, "atypical", getattr(v, "flag", v)))


@dataclass
class _Scorer:
    """Scores cases of one design under the three models, caching what does not change."""

    lib: Library
    obs: dict[str, list] = field(default_factory=dict)
    fixed: dict[tuple[str, str], tuple] = field(default_factory=dict)

    def _obs(self, c: LibraryCase) -> list:
        if c.id not in self.obs:
            self.obs[c.id] = observations(c.case, self.lib.net)
        return self.obs[c.id]

    def _engine(self, net: Network, d: dirichlet.Design) -> tuple[np.ndarray, np.ndarray, list[str], list, np.ndarray]:
        """What the engine gives each case: its differential (with the clinical setting's priors,
        as an assessment applies them), P(malignant), the plan's most invasive step, the flag."""
        col = {x: j for j, x in enumerate(net.ids)}
        P = np.zeros((len(d.cases), len(net.ids)))
        pm, upper, actions, atyp = np.zeros(len(d.cases)), np.zeros(len(d.cases)), [], []
        for i, c in enumerate(d.cases):
            a = assess_observations(net, c.case, self._obs(c))
            P[i, [col[e.id] for e in a.differential]] = [e.probability for e in a.differential]
            pm[i] = a.malignancy_probability
            upper[i] = a.malignancy_interval[1]
            actions.append(most_invasive(a.recommendation))
            atyp.append(_atypical(a))
        return P, pm, actions, atyp, upper

    def _estimates(self, d: dirichlet.Design) -> tuple[np.ndarray, np.ndarray, list[str], list, np.ndarray]:
        key = ("estimates", ",".join(d.ids))
        if key not in self.fixed:
            self.fixed[key] = self._engine(self.lib.net, d)
        return self.fixed[key]

    def _textbook(self, d: dirichlet.Design) -> tuple[np.ndarray, np.ndarray, list[str], list, np.ndarray]:
        kb = self.lib.net.kb
        out = [baseline.rank(c.case.model_dump(exclude_none=True), kb) for c in d.cases]
        P = np.array([r.probs for r in out]).reshape(len(out), len(kb.ids))
        pm = np.array([r.p_malignant for r in out])
        return P, pm, [r.action for r in out], [None] * len(out), pm

    def _learned(self, train: dirichlet.Design, d: dirichlet.Design, seed: int) -> tuple[np.ndarray, np.ndarray, list[str], list, np.ndarray]:
        try:
            from hepcal.fit import learned  # scikit-learn: the `validation` extra
        except ImportError as exc:
            raise HepcalError(f"the comparator learned from the library needs scikit-learn ({exc.name} is missing): "
                              "pip install 'hepcal[validation]'") from None
        kb = self.lib.net.kb
        P = learned.learned(train.X, train.first, d.X, len(kb.ids), seed).probs
        pm = P @ self.lib.net.malignant
        actions = [baseline.action_of(np.argsort(-p, kind="stable"), kb) for p in P]
        return P, pm, actions, [None] * len(P), pm

    def score(self, scores: dict[str, Scores], d: dirichlet.Design, fitted: Network, train: dirichlet.Design, seed: int) -> None:
        """Score the test cases ``d`` under the four models; ``train`` (in-vocabulary cases) is what
        the learned comparator may learn from, as ``fitted`` was fitted to it."""
        names = [self.lib.net.ids[j] for j in d.first]
        for model, (P, pm, actions, atyp, upper) in (("fitted", self._engine(fitted, d)), ("estimates", self._estimates(d)),
                                                     ("textbook", self._textbook(d)), ("learned", self._learned(train, d, seed))):
            scores[model].add(d.ids, names, P, d.acceptable, pm, d.malignant, actions, atyp, upper)


def _states_pattern(c: LibraryCase) -> bool:
    """Whether the case states the shape of its calcification (the core of pattern recognition)."""
    finding = c.case.finding
    return bool(finding is not None and finding.calcification)


# Proofs that need no needle or operation: a benign case proven so was managed without tissue.
PROOF_WITHOUT_TISSUE = ("imaging", "follow_up", "clinical", "serology")


def _proven_without_tissue(c: LibraryCase) -> bool:
    """A benign case whose article proves the diagnosis without tissue: a needle or surgery that
    the plan proposes for it is one the patient did without."""
    return not c.record.diagnosis.malignant and c.record.diagnosis.proof in PROOF_WITHOUT_TISSUE


def _subgroups(scores: dict[str, Scores], cases: Sequence[LibraryCase]) -> dict[str, Any]:
    """The same measures on two subsets: the cases that state a calcification pattern (what a
    reader who has the images states, and where a pattern list, the textbook baseline, is on its
    own ground), and the benign cases proven without tissue (how often the plan asks for a
    needle or surgery that the real patient did without)."""
    groups = {"calcification_pattern_stated": _states_pattern, "benign_proven_without_tissue": _proven_without_tissue}
    out = {}
    for name, member in groups.items():
        ids = {c.id for c in cases if member(c)}
        out[name] = {m: summarise(s.subset([i in ids for i in s.case])) for m, s in scores.items()}
    return out


def _open_set(scorer: _Scorer, d: dirichlet.Design, net: Network) -> dict[str, Any]:
    """How the fitted engine treats cases whose diagnosis is outside the vocabulary."""
    if not len(d.ids):
        return {"cases": 0}
    P, pm, actions, atyp, _ = scorer._engine(net, d)
    top = P.max(axis=1)
    confident = net.kb.policy.confident_probability.value
    known = [x for x in atyp if x is not None]
    mal = d.malignant
    flagged = (pm >= 0.10) | np.isin(np.asarray(actions, dtype=object), ("biopsy", "surgical_referral"))
    return {
        "cases": len(d.ids),
        "mean_top_probability": float(top.mean()),
        "top_at_or_above_confident": float((top >= confident).mean()),
        "confident_probability": confident,
        "malignant_cases": int(mal.sum()),
        "malignant_flagged": float(flagged[mal].mean()) if mal.any() else None,
        "atypical_rate": float(np.mean(known)) if known else None,
    }


def cross_validate(lib: Library, k: int = FOLDS, repeats: int = REPEATS, seed: int = SEED,
                   grid: Sequence[float] = GRID) -> dict[str, Any]:
    """Nested cross-validation of the fitted knowledge base against the two comparators."""
    t0 = time.perf_counter()
    d_all = lib.design
    inv = np.flatnonzero(d_all.in_vocabulary)
    d = d_all.subset(inv)
    scorer = _Scorer(lib)
    scores = {m: Scores() for m in MODELS}
    proposals = next_check.NextCheck()
    hide = np.random.default_rng(seed + 1)  # its own stream: the folds do not depend on it
    chosen: list[float] = []
    rng = np.random.default_rng(seed)
    for r in range(repeats):
        folds = stratified_folds(d.first, k, rng)
        for f in range(k):
            train, test = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            dt = d.subset(train)
            s, _ = choose_strength(lib.net, dt, lib.series_counts, k, 1, seed + 1000 * r + f, grid)
            chosen.append(s)
            fitted = fit_on(lib, dt, s)
            scorer.score(scores, d.subset(test), fitted, dt, seed + 1000 * r + f)
            proposals.add(fitted, d.subset(test), hide)
    oov = d_all.subset(np.flatnonzero(~d_all.in_vocabulary))
    full = fit_library(lib, k, REPEATS, seed, grid).net
    open_set = _open_set(scorer, oov, full) if len(oov.ids) else {"cases": 0}
    return {
        "mode": "cross-validation",
        "folds": k,
        "repeats": repeats,
        "seed": seed,
        "development_cases": len(d_all.ids),
        "in_vocabulary": len(d.ids),
        "series_counts": len(lib.series),
        "strength_grid": list(grid),
        "strength_chosen_per_fold": chosen,
        "models": {m: summarise(scores[m]) for m in MODELS},
        "subgroups": _subgroups(scores, d.cases),
        "open_set": open_set,
        "similar_cases": neighbours.similar_case_agreement(full, d_all.cases),
        "next_finding": proposals.summary(seed),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def score_holdout(lib: Library, root: str | Path | None = None, k: int = FOLDS, seed: int = SEED,
                  grid: Sequence[float] = GRID) -> dict[str, Any]:
    """Score the frozen hold-out once, with the fit on all development cases."""
    t0 = time.perf_counter()
    full = fit_library(lib, k, REPEATS, seed, grid)
    held = dirichlet.design(lib.net, load_holdout(root=root))
    scorer = _Scorer(lib)
    scores = {m: Scores() for m in MODELS}
    inv = held.subset(np.flatnonzero(held.in_vocabulary))
    if len(inv.ids):
        dev = lib.design.subset(np.flatnonzero(lib.design.in_vocabulary))
        scorer.score(scores, inv, full.net, dev, seed)
    return {
        "mode": "hold-out",
        "development_cases": len(lib.design.ids),
        "holdout_cases": len(held.ids),
        "in_vocabulary": len(inv.ids),
        "strength": full.strength,
        "models": {m: summarise(scores[m]) for m in MODELS},
        "subgroups": _subgroups(scores, inv.cases),
        "open_set": _open_set(scorer, held.subset(np.flatnonzero(~held.in_vocabulary)), full.net),
        "seconds": round(time.perf_counter() - t0, 2),
    }
