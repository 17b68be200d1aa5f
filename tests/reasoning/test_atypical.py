"""The "none of these fits" flag: calibrated on the library, raised for findings no diagnosis explains."""

from __future__ import annotations

import yaml

from hepcal.reasoning import assess, network
from tests.conftest import EXAMPLES

ODD = {  # a combination no single diagnosis of the knowledge base produces
    "patient": {"age_years": 30},
    "history": {"thorotrast": True, "pregnancy_or_postpartum": True},
    "labs": {"echinococcus_serology_positive": True},
    "finding": {"calcification": ["central_scar", "septal"], "fat": True, "daughter_cysts": True, "metallic_artifact": True, "max_hu": 3000},
}


def test_an_out_of_vocabulary_looking_case_is_flagged_with_its_reason():
    a = assess(ODD)
    assert a.atypical is True
    assert "outside the list" in a.atypical_reason
    assert "thorotrast" in a.atypical_reason  # names the least expected findings
    out = a.to_dict()
    assert out["atypical"] is True and out["atypical_reason"] == a.atypical_reason


def test_the_typical_seed_cases_are_not_flagged():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        a = assess(yaml.safe_load(path.read_text()))
        assert a.atypical is False, (path.name, a.atypical_reason)
        assert a.atypical_reason


def test_too_few_findings_are_never_flagged():
    a = assess({"finding": {"count": "solitary"}})
    assert a.atypical is False and "Too few" in a.atypical_reason
