from __future__ import annotations

import pytest

from hepcal.findings import CaseError, apply_override, apply_overrides, parse_case


def test_override_coerces_by_contract_type():
    case = apply_overrides({"finding": {"count": "solitary"}}, [
        "finding.enhancement=arterial_washout",
        "history.chronic_liver_disease=true",
        "finding.calcification=rim,central",
        "patient.age_years=61",
    ])
    parsed = parse_case(case)
    assert parsed.finding.enhancement == "arterial_washout"
    assert parsed.history.chronic_liver_disease is True
    assert parsed.finding.calcification == ["rim", "central"]
    assert parsed.patient.age_years == 61.0


def test_override_does_not_change_the_original():
    original = {"finding": {"count": "solitary"}}
    apply_override(original, "finding.count=few")
    assert original == {"finding": {"count": "solitary"}}


@pytest.mark.parametrize("assignment", ["finding.colour=red", "history.fever=maybe", "patient.age_years=old", "no-equals-sign"])
def test_bad_override_is_a_case_error(assignment):
    with pytest.raises(CaseError):
        apply_override({"finding": {"count": "solitary"}}, assignment)
