"""The textbook-list baseline: cited lists per pattern, rules of thumb, a ranking and its action."""

from __future__ import annotations

import numpy as np

from hepcal.fit import baseline
from hepcal.knowledge import load


def ids_of(result, kb) -> list[str]:
    return [kb.ids[j] for j in result.order]


def test_lists_and_rules_name_known_diagnoses_and_references():
    assert baseline.check(load()) == []


def test_pattern_list_then_rules_of_thumb():
    kb = load()
    rim = baseline.rank({"finding": {"calcification": ["rim"]}}, kb)
    assert ids_of(rim, kb)[:2] == ["hydatid_cyst", "simple_cyst"]
    primary = baseline.rank({"finding": {"calcification": ["rim"]}, "history": {"known_primary": "colorectal"}}, kb)
    assert ids_of(primary, kb)[0] == "metastasis" and primary.action == "biopsy"
    none_known = baseline.rank({"finding": {"calcification": ["rim"]}, "history": {"known_primary": "none"}}, kb)
    assert ids_of(none_known, kb)[0] == "hydatid_cyst"
    child = baseline.rank({"finding": {"calcification": ["coarse"]}, "patient": {"age_years": 2}}, kb)
    assert ids_of(child, kb)[:3] == ["hepatoblastoma", "infantile_hemangioma", "mesenchymal_hamartoma"]
    infant = baseline.rank({"finding": {"calcification": ["coarse"]}, "patient": {"age_years": 0.3}}, kb)
    assert ids_of(infant, kb)[0] == "infantile_hemangioma"
    both = baseline.rank({"finding": {"calcification": ["rim", "septal"]}}, kb)
    assert ids_of(both, kb)[:2] == ["hydatid_cyst", "mucinous_cystic_neoplasm"]  # lists interleaved
    unstated = baseline.rank({"finding": {"lesion": "solid"}}, kb)
    assert ids_of(unstated, kb)[0] == "granuloma"


def test_probabilities_follow_the_ranking():
    kb = load()
    r = baseline.rank({"finding": {"calcification": ["punctate"]}}, kb)
    assert abs(r.probs.sum() - 1) < 1e-12 and len(set(r.order)) == len(kb.ids)
    assert np.all(np.diff(r.probs[list(r.order)]) < 0)
    assert r.p_malignant == float(r.probs @ np.array([d.malignant.p for d in kb.diagnoses]))
