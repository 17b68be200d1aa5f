"""`hepcal explain` shows, for every number, the estimate, the library evidence and the fitted value."""

from __future__ import annotations

import pytest

from hepcal.fit import output
from hepcal.knowledge import load
from hepcal.reasoning.explain import explain_diagnosis


def test_explain_shows_estimate_evidence_and_fitted_value(kb_copy, lib_root):
    output.fit_and_write(load(kb_copy), lib_root)
    kb = load(kb_copy)
    x = explain_diagnosis({"finding": {"calcification": ["rim"], "lesion": "cystic"}}, "hydatid_cyst", kb)
    assert x["knowledge_base"]["likelihoods"] == "fitted"
    rim = next(f for f in x["findings"] if f["finding"] == "finding.calcification=rim")
    assert rim["evidence"] == {"k": 14.0, "n": 43.0, "cases": ["hyd-1", "hyd-2", "hyd-3"], "series": ["hyd-rim-series"]}
    s = x["knowledge_base"]["prior_strength"]
    assert rim["fitted"] == pytest.approx((s * rim["estimate"] + 14) / (s + 43))
    assert rim["p_given_diagnosis"] == rim["fitted"]
    # a finding without library evidence keeps its estimate
    x2 = explain_diagnosis({"finding": {"calcification": ["rim"], "fat": True}}, "hydatid_cyst", kb)
    fat = next(f for f in x2["findings"] if f["finding"] == "finding.fat=true")
    assert fat["evidence"]["n"] == 0 and fat["fitted"] == pytest.approx(fat["estimate"])
