"""``doubt_needle_malignancy``: a doubt-driven biopsy only when malignancy is not excluded.

Not set in the shipped policy (docs/recommendation-policy.md says why); these tests set it in a
copy of the knowledge base and check both sides of the level, and the policy check.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hepcal.knowledge import load, read
from hepcal.knowledge.check import check
from hepcal.knowledge.loader import default_path
from hepcal.reasoning import assess
from hepcal.reasoning.recommendation import most_invasive


def _kb_with(tmp_path: Path, level: float | None, drop_step: bool = False) -> Path:
    dest = tmp_path / f"kb{level}{drop_step}"
    shutil.copytree(default_path(), dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = dest / "policy.yaml"
    data = yaml.safe_load(path.read_text())
    if level is not None:
        data["doubt_needle_malignancy"] = {"value": level, "estimate": True, "note": "test"}
    if drop_step:
        data["plan"]["steps"].pop("doubtful_follow_up")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def test_shipped_policy_keeps_the_doubt_biopsy(rim_case):
    a = assess(rim_case)
    assert a.doubtful and a.recommendation.rule != "doubtful_no_needle"
    assert load().policy.doubt_needle_malignancy is None


def test_below_the_level_imaging_replaces_the_doubt_biopsy(tmp_path, rim_case):
    shipped = assess(rim_case)
    assert most_invasive(shipped.recommendation) == "biopsy"
    upper = shipped.malignancy_interval[1]
    kb = load(_kb_with(tmp_path, round(upper + 0.05, 3)))
    a = assess(rim_case, kb)
    assert a.doubtful and a.recommendation.rule == "doubtful_no_needle"
    actions = [s.action for s in a.recommendation.plan]
    assert "biopsy" not in actions and actions[0] == "further_imaging"  # no enhancement entered: characterise
    assert any("not a needle" in r for r in a.recommendation.reasons)
    # characterised already: follow-up imaging instead
    seen = {**rim_case, "finding": {**rim_case["finding"], "enhancement": "none"}}
    b = assess(seen, kb)
    assert b.doubtful and b.malignancy_interval[1] < upper + 0.05
    assert [s.action for s in b.recommendation.plan] == ["follow_up_imaging"]


def test_at_or_above_the_level_the_doubt_biopsy_stays(tmp_path, rim_case):
    upper = assess(rim_case).malignancy_interval[1]
    kb = load(_kb_with(tmp_path, round(max(upper - 0.01, 0.001), 3)))
    a = assess(rim_case, kb)
    assert a.recommendation.rule != "doubtful_no_needle"
    assert most_invasive(a.recommendation) == "biopsy"


def test_check_asks_for_the_follow_up_step(tmp_path):
    assert check(read(_kb_with(tmp_path, 0.10))) == []
    problems = check(read(_kb_with(tmp_path, 0.10, drop_step=True)))
    assert any("doubtful_follow_up" in p for p in problems), problems
