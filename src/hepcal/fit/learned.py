"""A comparator learned from the library alone: what the findings give without the knowledge base.

Multinomial logistic regression (scikit-learn) on the same observed-state rows the engine reads,
trained on the training folds' cases with their own diagnosis frequencies, no expert estimate,
no population prior. Its regularisation C is chosen inside the training folds (inner K-fold,
log loss of the proven diagnosis), as the engine's strength is. It answers two questions the
other comparators do not: does the knowledge base add to what a model learns from the same
published cases (if not, its expert numbers have not earned their place), and roughly how much
the library's findings can support at all when a model is free to learn the case-report mix.
Its action follows the textbook baseline's rule (a needle when a malignant diagnosis ranks in its
first three, otherwise the leading diagnosis's management).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from hepcal.fit.cv import stratified_folds

#: Regularisation strengths tried (inverse L2 penalty); the inner folds choose one.
C_GRID: tuple[float, ...] = (0.3, 1.0, 3.0)
INNER_FOLDS = 3
FLOOR = 1e-6  # probability given to a diagnosis no training case had, before renormalising


@dataclass(frozen=True)
class Learned:
    probs: np.ndarray  # (N, D) over all diagnoses of the knowledge base
    c: float  # the regularisation chosen


def _fit_predict(X: np.ndarray, y: np.ndarray, X_new: np.ndarray, n_dx: int, c: float) -> np.ndarray:
    P = np.full((len(X_new), n_dx), FLOOR)
    classes = np.unique(y)
    if len(classes) == 0:  # nothing to learn from: uniform
        return np.full((len(X_new), n_dx), 1.0 / n_dx)
    if len(classes) == 1:
        P[:, classes[0]] = 1.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression(C=c, max_iter=1000).fit(X, y)
        P[:, model.classes_] += model.predict_proba(X_new)
    return P / P.sum(axis=1, keepdims=True)


def choose_c(X: np.ndarray, y: np.ndarray, n_dx: int, seed: int, grid: Sequence[float] = C_GRID,
             k: int = INNER_FOLDS) -> float:
    """The C of ``grid`` with the lowest inner cross-validated log loss (a tie goes to the smaller)."""
    folds = stratified_folds(y, k, np.random.default_rng(seed))  # as the outer folds are dealt
    losses = []
    for c in grid:
        loss = 0.0
        for f in range(k):
            tr, te = folds != f, folds == f
            P = _fit_predict(X[tr], y[tr], X[te], n_dx, c)
            loss -= np.log(P[np.arange(te.sum()), y[te]]).sum()
        losses.append(loss)
    return float(grid[int(np.argmin(losses))])


def learned(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, n_dx: int, seed: int,
            grid: Sequence[float] = C_GRID) -> Learned:
    """Train on (X_train, y_train: diagnosis column of each case) and give the test cases' probabilities."""
    c = choose_c(X_train, y_train, n_dx, seed, grid)
    return Learned(_fit_predict(X_train, y_train, X_test, n_dx, c), c)
