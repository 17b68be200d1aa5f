from __future__ import annotations

import json

import pytest

from hepcal.errors import InputError
from hepcal.findings import CaseError, contract, json_schema, parse_case
from hepcal.findings.io import iter_cases, load_case


def test_valid_case_round_trips(rim_case):
    case = parse_case(rim_case)
    assert case.model_dump(exclude_none=True) == rim_case


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"finding": {"calcification": ["rimm"]}}, "finding.calcification.0", "takes values from punctate"),
        ({"finding": {"lesion": "lump"}}, "finding.lesion", "one of none, cystic, solid, mixed, infiltrative"),
        ({"finding": {"size_mm": 401}}, "finding.size_mm", "a number from 0 to 400"),
        ({"finding": {"size_mm": "12"}}, "finding.size_mm", "a number from 0 to 400"),
        ({"finding": {"count": "solitary"}, "history": {"fever": "yes"}}, "history.fever", "true or false"),
        ({"finding": {"count": "solitary"}, "patient": {"age_years": True}}, "patient.age_years", "a number"),
        ({"finding": {"count": "solitary", "colour": "red"}}, "finding.colour", "unknown key"),
        ({"finding": {"count": "solitary"}, "imaging": {}}, "imaging", "unknown key"),
        ({"finding": {"calcification": ["rim", "rim"]}}, "finding.calcification", "repeats a value"),
        ({"patient": {"age_years": 40}}, "finding", "needs a finding"),
        ({"finding": {}}, "finding", "needs a finding"),
    ],
)
def test_invalid_case_names_path_value_and_allowed(data, path, fragment):
    with pytest.raises(CaseError) as info:
        parse_case(data)
    paths = [p.path for p in info.value.problems]
    assert path in paths
    assert fragment in str(info.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(CaseError) as info:
        parse_case({"finding": {"lesion": "x", "size_mm": -1}, "history": {"fever": 1}})
    assert {p.path for p in info.value.problems} == {"finding.lesion", "finding.size_mm", "history.fever"}


def test_non_mapping_case_is_rejected():
    with pytest.raises(CaseError, match="must be a mapping"):
        parse_case(["finding"])


def test_schema_lists_every_contract_key():
    schema = json_schema()
    text = json.dumps(schema)
    for path in contract().fields:
        assert path.split(".")[1] in text
    assert schema["properties"]["finding"]


def test_load_case_reads_json_and_yaml(tmp_path, rim_case):
    j = tmp_path / "c.json"
    j.write_text(json.dumps(rim_case))
    y = tmp_path / "c.yaml"
    y.write_text("finding:\n  calcification: [rim]\n")
    assert load_case(j).finding.calcification == ["rim"]
    assert load_case(y).finding.calcification == ["rim"]


@pytest.mark.parametrize("content", ["", "finding: [unclosed", "\xff"])
def test_load_case_clear_errors(tmp_path, content):
    p = tmp_path / "bad.yaml"
    p.write_bytes(content.encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_case(p)
    assert "bad.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("dup.yaml", "finding:\n  count: solitary\n  lesion: none\n  count: few\n", "'count' is given twice in one mapping (line 4)"),
        ("dup.yaml", "finding: {count: few}\nfinding: {lesion: none}\n", "'finding' is given twice"),
        ("dup.json", '{"finding": {"count": "few", "count": "solitary"}}', "'count' is given twice"),
    ],
)
def test_a_repeated_key_is_an_error_not_a_silent_overwrite(tmp_path, name, content, fragment):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(InputError) as info:
        load_case(p)
    assert name in str(info.value) and fragment in str(info.value)


def test_jsonl_line_with_a_repeated_key_is_reported_with_its_number():
    lines = ['{"finding": {"count": "few"}}', '{"finding": {"count": "few", "count": "solitary"}}']
    got = list(iter_cases(lines, "x.jsonl"))
    assert got[0].error is None
    assert "x.jsonl:2" in str(got[1].error) and "'count' is given twice" in str(got[1].error)


def test_jsonl_reports_bad_line_numbers_and_keeps_good_ones():
    lines = ['{"finding": {"count": "solitary"}}', "not json", '{"finding": {"count": "many"}}', "", '{"finding": {"lesion": "none"}}']
    got = list(iter_cases(lines, "x.jsonl"))
    assert [(g.number, g.error is None) for g in got] == [(1, True), (2, False), (3, False), (5, True)]
    assert "x.jsonl:2" in str(got[1].error)
    assert "x.jsonl:3" in str(got[2].error)


def test_null_is_read_as_an_omitted_key(rim_case):
    from hepcal.reasoning.assessment import assess

    with_nulls = {**rim_case, "finding": {**rim_case["finding"], "size_mm": None}, "labs": None}
    assert parse_case(with_nulls).model_dump(exclude_none=True) == parse_case(rim_case).model_dump(exclude_none=True)
    a, b = assess(with_nulls).to_dict(), assess(rim_case).to_dict()
    assert [d["probability"] for d in a["differential"]] == [d["probability"] for d in b["differential"]]
