"""The knowledge base fitted to the case library (``hepcal kb fit``), and its measurement.

evidence → fit → knowledge: :mod:`hepcal.fit.dirichlet` updates each expert likelihood with the
library's counts, :mod:`hepcal.fit.cv` chooses the prior strength by cross-validation and scores
folds, :mod:`hepcal.fit.store` writes and reads ``knowledge/fitted.json``, :mod:`hepcal.fit.baseline`
is the textbook-list comparator. Nothing here reads the hold-out except :func:`hepcal.fit.cv.score_holdout`.
"""
