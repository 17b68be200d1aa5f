"""Property-based fuzzing of the contract: no input crashes; every invalid input gets a clear error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hepcal.findings import CaseError, contract, parse_case, without_conflicts

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _field_value(spec):
    if spec.type == "bool":
        return st.booleans()
    if spec.type == "number":
        return st.floats(min_value=spec.min, max_value=spec.max, allow_nan=False)
    if spec.type == "enum":
        return st.sampled_from(spec.values)
    return st.lists(st.sampled_from(spec.values), unique=True, max_size=len(spec.values))


@st.composite
def valid_cases(draw):
    c = contract()
    case = {}
    for section, keys in c.sections.items():
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=5))
        if chosen:
            case[section] = {k: draw(_field_value(c.field(f"{section}.{k}"))) for k in chosen}
    case.setdefault("finding", {})["count"] = draw(st.sampled_from(c.field("finding.count").values))
    return without_conflicts(case)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_input_never_crashes(data):
    try:
        parse_case(data)
    except CaseError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.path and p.message
    # any other exception fails the test


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["patient", "history", "labs", "finding", "other"]), json_values, max_size=4))
def test_section_level_garbage_gets_clear_errors(data):
    try:
        parse_case(data)
    except CaseError as exc:
        text = str(exc)
        assert "invalid case" in text
        assert all(p.path for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(valid_cases())
def test_generated_valid_cases_are_accepted(case):
    parsed = parse_case(case)
    assert parsed.model_dump(exclude_none=True) == case
