"""Hand-built assessment fields that other parts of hepcal add (plan, intervals, atypical, similar cases).

The report renders them when present; these helpers put them on a real assessment so the tests
do not depend on when the reasoning side ships them.
"""

from __future__ import annotations

import copy
from typing import Any

PLAN = [
    {"step": 1, "action": "laboratory_tests", "text": "Echinococcus serology",
     "reason": "A hydatid cyst is possible and must not be punctured before serology.", "then": "if negative, biopsy"},
    {"step": 2, "action": "biopsy", "text": "Image-guided biopsy", "reason": "Malignancy is not excluded.", "then": None},
]
SIMILAR = [
    {"id": "case-17", "diagnosis": "hydatid_cyst", "diagnosis_name": "Hydatid cyst", "citation": "Author A. *Journal* 2020;1:2.",
     "url": "https://doi.org/10.1000/example", "similarity": 0.81},
    {"id": "case-3", "diagnosis": "hematoma", "diagnosis_name": "Organised haematoma", "citation": "Author B. *Other* 2019.",
     "url": "javascript:alert(1)", "similarity": 0.64},
]
ATYPICAL_REASON = "the findings are rare under every listed diagnosis"


def with_extras(assessment: dict[str, Any], *, atypical: bool = True) -> dict[str, Any]:
    """A copy of a contract assessment with every new field filled in."""
    a = copy.deepcopy(assessment)
    a["recommendation"]["plan"] = copy.deepcopy(PLAN)
    a["recommendation"]["action"] = PLAN[0]["action"]
    for e in a["differential"]:
        p = float(e["probability"])
        e["probability_interval"] = [max(0.0, p * 0.7), min(1.0, p * 1.2 + 0.01)]
    p = float(a["malignancy_probability"])
    a["malignancy_interval"] = [p * 0.5, min(1.0, p * 1.5 + 0.02)]
    a["atypical"] = atypical
    a["atypical_reason"] = ATYPICAL_REASON if atypical else ""
    a["similar_cases"] = copy.deepcopy(SIMILAR)
    a["contract_version"] = 2
    return a
