from __future__ import annotations

import pytest

from hepcal.findings import CaseError, contract, parse_case
from hepcal.web.checklist import NONE_OF_THESE, case_from_form, checklist


def test_every_contract_key_is_on_the_checklist_with_its_label() -> None:
    c = contract()
    widgets = {w.name: w for s in checklist() for w in s.widgets}
    assert set(widgets) == set(c.fields)
    assert all(w.spec.label == c.fields[name].label for name, w in widgets.items())
    assert all(w.value is None for w in widgets.values())  # unknown by default


def test_finding_section_comes_first() -> None:
    assert checklist()[0].name == "finding"


def test_checklist_shows_case_values(rim_case: dict) -> None:
    widgets = {w.name: w for s in checklist(rim_case) for w in s.widgets}
    assert widgets["finding.calcification"].is_selected("rim")
    assert widgets["history.incidental"].bool_state == "true"
    assert widgets["history.fever"].bool_state == ""


def test_form_round_trips_to_a_valid_case(rim_case: dict) -> None:
    form = {"history.incidental": ["true"], "history.fever": [""], "finding.modality": ["ct"],
            "finding.calcification": ["rim"], "finding.count": ["solitary"], "finding.size_mm": [""]}
    case = case_from_form(form)
    assert case == rim_case
    parse_case(case)


def test_absent_and_none_of_these_are_recorded() -> None:
    case = case_from_form({"history.fever": ["false"], "finding.calcification": ["rim", NONE_OF_THESE], "finding.size_mm": ["42"]})
    assert case == {"history": {"fever": False}, "finding": {"calcification": [], "size_mm": 42.0}}


def test_bad_form_values_name_the_key() -> None:
    with pytest.raises(CaseError, match="finding.size_mm"):
        case_from_form({"finding.size_mm": ["big"]})
    with pytest.raises(CaseError, match="history.fever"):
        case_from_form({"history.fever": ["maybe"]})
