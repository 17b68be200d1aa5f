"""The knowledge base: the shipped one is valid, and the check catches each kind of defect."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from hepcal.errors import KnowledgeBaseError
from hepcal.findings import contract
from hepcal.knowledge import load, read
from hepcal.knowledge.check import check, summary
from hepcal.knowledge.loader import default_path


def test_shipped_knowledge_base_is_valid_and_complete():
    kb = read()
    assert check(kb) == []
    assert set(kb.ids) == set(contract().diagnoses)
    assert re.fullmatch(r"\d+\.\d+\.\d+", kb.version)
    s = summary(kb)
    assert s["diagnoses"] == len(contract().diagnoses) == 41 and s["references"] > 100


def test_every_case_key_is_mapped_to_evidence_or_ignored_with_a_reason():
    kb = read()
    mapped = {v.key for v in kb.variables} | set(kb.ignored) | {d.key for d in kb.derived}
    assert mapped == set(contract().fields)
    assert all(kb.ignored.values())


def test_every_probability_resolves_for_every_diagnosis():
    kb = read()
    for d in kb.diagnoses:
        for var in kb.variables:
            probs = kb.likelihood(d, var).probs
            assert len(probs) == len(var.states)
            assert abs(sum(probs) - 1) < 1e-9
            assert all(0 < p < 1 for p in probs), (d.id, var.id, probs)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "kb"
    shutil.copytree(default_path(), dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["likelihoods"].__setitem__("finding.calcification.rim", {"p": 0.0, "estimate": True}), "would veto"),
        (lambda d: d["likelihoods"].__setitem__("finding.calcification.rim", {"p": 0.3}), "no source"),
        (lambda d: d["likelihoods"].__setitem__("finding.calcification.rim", {"p": 0.3, "src": ["NOPE1999"]}), "not in references"),
        (lambda d: d["likelihoods"].__setitem__("finding.lesion", {"dist": {"none": 0.5, "lumpy": 0.2}, "estimate": True}), "unknown state"),
        (lambda d: d["likelihoods"].__setitem__("finding.count", {"dist": {"solitary": 0.5, "few": 0.5, "multiple": 0.5, "innumerable": 0.5}, "estimate": True}), "sum to"),
        (lambda d: d["likelihoods"].pop("finding.calcification.rim"), "must be stated by the diagnosis itself"),
        (lambda d: d["likelihoods"].__setitem__("finding.colour", {"p": 0.3, "estimate": True}), "not an evidence variable"),
        (lambda d: d["management"].__setitem__("action", "pray"), "management.action"),
    ],
)
def test_check_catches_defects(kb_copy, edit, message):
    _edit(kb_copy / "diagnoses" / "granuloma.yaml", edit)
    with pytest.raises(KnowledgeBaseError) as info:
        load(kb_copy)
    assert any(message in p and "granuloma" in p for p in info.value.problems), info.value.problems


def test_missing_diagnosis_file_is_reported(kb_copy):
    (kb_copy / "diagnoses" / "thorotrast.yaml").unlink()
    with pytest.raises(KnowledgeBaseError, match="no file for contract diagnosis 'thorotrast'"):
        load(kb_copy)


def test_duplicate_reference_key_is_refused(kb_copy):
    (kb_copy / "references" / "zz.yaml").write_text("references:\n  R1: {citation: duplicate}\n")
    with pytest.raises(KnowledgeBaseError, match="defined twice"):
        load(kb_copy)


def test_not_a_knowledge_base_folder(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="no kb.yaml"):
        load(tmp_path)


def test_policy_thresholds_are_sourced_and_in_range():
    pol = read().policy
    for name in ("confident_probability", "malignancy_not_excluded", "malignancy_negligible", "caution_probability",
                 "avoid_puncture_probability", "same_management_probability"):
        t = getattr(pol, name)
        assert 0 < t.value < 1 and (t.src or t.estimate)


def test_policy_work_up_actions_must_be_contract_actions(kb_copy):
    _edit(kb_copy / "policy.yaml", lambda d: d.__setitem__("malignancy_work_up_actions", ["biopsy", "wait_and_see"]))
    with pytest.raises(KnowledgeBaseError) as info:
        load(kb_copy)
    assert any("malignancy_work_up_actions" in p and "wait_and_see" in p for p in info.value.problems), info.value.problems


def test_a_number_given_twice_in_a_diagnosis_file_is_refused(kb_copy):
    path = kb_copy / "diagnoses" / "granuloma.yaml"
    text = path.read_text()
    assert "\nlikelihoods:\n" in text
    path.write_text(text.replace("\nlikelihoods:\n", "\nlikelihoods:\n  finding.calcification.rim: {p: 0.5, estimate: true}\n", 1))
    with pytest.raises(KnowledgeBaseError) as info:
        load(kb_copy)
    assert any("granuloma.yaml" in p and "appears twice" in p for p in info.value.problems), info.value.problems


def test_superseded_by_names_a_value_of_its_key(kb_copy):
    path = kb_copy / "variables.yaml"
    path.write_text(path.read_text().replace("finding.calcification=central_scar", "finding.calcification=stellate"))
    with pytest.raises(KnowledgeBaseError) as info:
        load(kb_copy)
    assert any("'stellate' is not a value of finding.calcification" in p for p in info.value.problems), info.value.problems
