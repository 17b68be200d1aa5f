"""The comparator learned from the library alone (fit/learned.py)."""

from __future__ import annotations

import numpy as np

from hepcal.fit import learned


def _data(rng, n_per=12, noise=0.1):
    """Three diagnoses, each with its own finding (column), plus noise columns."""
    X, y = [], []
    for d in range(3):
        for _ in range(n_per):
            x = (rng.uniform(size=6) < noise).astype(float)
            x[d] = 1.0
            X.append(x)
            y.append(d)
    return np.array(X), np.array(y)


def test_learns_the_findings_that_separate_diagnoses():
    rng = np.random.default_rng(0)
    X, y = _data(rng)
    X_new = np.eye(6)[:3]  # each diagnosis's own finding alone
    out = learned.learned(X, y, X_new, n_dx=5, seed=1)
    assert out.probs.shape == (3, 5)
    assert np.allclose(out.probs.sum(axis=1), 1.0)
    assert (out.probs.argmax(axis=1) == [0, 1, 2]).all()
    assert (out.probs[:, 3:] < 1e-3).all()  # diagnoses no training case had get (almost) nothing
    assert out.c in learned.C_GRID


def test_the_inner_folds_choose_more_regularisation_for_noise():
    """Labels unrelated to the findings: the inner log loss prefers the strongest penalty."""
    rng = np.random.default_rng(2)
    X = (rng.uniform(size=(60, 8)) < 0.5).astype(float)
    y = rng.integers(0, 3, size=60)
    assert learned.choose_c(X, y, 3, seed=3) == min(learned.C_GRID)


def test_degenerate_training_sets():
    one = learned.learned(np.ones((3, 2)), np.array([1, 1, 1]), np.ones((2, 2)), n_dx=3, seed=0)
    assert (one.probs.argmax(axis=1) == 1).all()
    none = learned.learned(np.zeros((0, 2)), np.zeros(0, dtype=int), np.ones((2, 2)), n_dx=4, seed=0)
    assert np.allclose(none.probs, 0.25)


def test_validation_without_scikit_learn_is_a_clear_error(monkeypatch):
    """The comparator is an extra: without scikit-learn the scoring stops with what to install."""
    import builtins

    import pytest

    from hepcal.errors import HepcalError
    from hepcal.fit import cv
    from hepcal.knowledge import load

    real = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn") or (name == "hepcal.fit" and "learned" in (args[2] or ())):
            raise ImportError("No module named 'sklearn'", name="sklearn")
        return real(name, *args, **kwargs)

    lib = cv.library(load())
    d = lib.design.subset(np.flatnonzero(lib.design.in_vocabulary)[:4])
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(HepcalError, match=r"hepcal\[validation\]"):
        cv._Scorer(lib)._learned(d, d, 0)
