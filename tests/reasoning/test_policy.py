"""The doubt and recommendation policy (policy.yaml) as issue requirements state it."""

from __future__ import annotations

import random

import numpy as np

from hepcal.findings import contract, without_conflicts
from hepcal.reasoning import assess, network


def _random_case(rng: random.Random) -> dict:
    """A valid case with about a quarter of the contract's keys filled at random."""
    c = contract()
    case: dict = {}
    for spec in c.fields.values():
        if rng.random() > 0.25:
            continue
        if spec.type == "bool":
            v = rng.random() < 0.5
        elif spec.type == "number":
            v = round(rng.uniform(spec.min, min(spec.max, 200)), 1)
        elif spec.type == "enum":
            v = rng.choice(spec.values)
        else:
            v = rng.sample(spec.values, rng.randint(1, 2))
        case.setdefault(spec.section, {})[spec.name] = v
    case.setdefault("finding", {}).setdefault("count", rng.choice(c.field("finding.count").values))
    return without_conflicts(case)


def test_small_dense_calcified_granuloma_without_soft_tissue_gets_no_biopsy():
    a = assess({"finding": {"calcification": ["dense_nodular"], "lesion": "none", "size_mm": 6, "count": "solitary"}})
    assert a.differential[0].id == "granuloma"
    assert a.recommendation.action == "no_follow_up"
    assert not a.doubtful


def test_benign_leader_with_malignancy_not_excluded_is_biopsied_not_dismissed():
    """A confident haemangioma whose remaining probability is malignant: no longer 'no follow-up',
    but a biopsy, after the MRI that a possible haemangioma asks for before any needle."""
    case = {
        "patient": {"age_years": 59, "sex": "female"},
        "history": {"right_upper_quadrant_pain": True},
        "finding": {"modality": ["us", "ct"], "count": "multiple", "size_mm": 270, "lesion": "mixed",
                    "margin": "well_defined", "enhancement": "peripheral_nodular"},
    }
    a = assess(case)
    pol = network().kb.policy
    assert a.differential[0].id == "hemangioma" and not a.doubtful
    # "cannot be excluded" reads the upper bound of P(malignant)'s 90 % interval
    assert a.malignancy_interval[1] >= pol.malignancy_not_excluded.value
    actions = [s.action for s in a.recommendation.plan]
    assert actions == ["further_imaging", "biopsy"] and "no_follow_up" not in actions
    assert "MRI" in a.recommendation.plan[0].text and a.recommendation.action == "further_imaging"
    assert a.recommendation.rule == "puncture_avoided"
    assert any("biopsy is offered instead" in r for r in a.recommendation.reasons)
    assert any("bleed" in c for c in a.recommendation.cautions)  # the haemangioma caution comes with it


def test_malignancy_not_excluded_is_worked_up_unless_a_needle_is_forbidden():
    """Over many random cases: P(malignant) >= the policy level puts biopsy or surgical referral in the plan,
    unless the malignancy lies with diagnoses that the chosen management itself addresses (e.g. a
    treated tumour followed by imaging, a metastasis referred to oncology) or a diagnosis that must
    not be punctured replaced the biopsy by its safe route."""
    net = network()
    kb = net.kb
    pol = kb.policy
    actions = np.array([d.management.action for d in kb.diagnoses])
    order = {d.id: i for i, d in enumerate(kb.diagnoses)}
    rng = random.Random(20240611)
    checked = 0
    for _ in range(3000):
        a = assess(_random_case(rng))
        if a.malignancy_probability < pol.malignancy_not_excluded.value:
            continue
        checked += 1
        rec = a.recommendation
        planned = {s.action for s in rec.plan}
        if planned & set(pol.malignancy_work_up_actions) or any("exclude:" in s.origin for s in rec.plan):
            continue
        post = np.zeros(len(kb.diagnoses))
        for e in a.differential:
            post[order[e.id]] = e.probability
        elsewhere = ~np.isin(actions, list(planned))
        assert float(post[elsewhere] @ net.malignant[elsewhere]) < pol.malignancy_not_excluded.value, (rec.action, rec.rule)
    assert checked > 300


def test_a_forbidden_needle_turns_the_work_up_into_the_safe_route():
    """Rim calcification in an exposed patient with positive serology: hydatid leads; the biopsy
    that doubt or malignancy would call for is replaced by serology-first management."""
    a = assess({"history": {"echinococcus_exposure": True}, "labs": {"echinococcus_serology_positive": True},
                "finding": {"calcification": ["rim"], "lesion": "cystic", "count": "solitary"}})
    assert a.differential[0].id == "hydatid_cyst"
    assert a.recommendation.action != "biopsy"
    assert any("hydatid" in c.lower() for c in a.recommendation.cautions)


# --- the plan part of the policy is validated like the rest of the base ----------------------

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from hepcal.knowledge import read  # noqa: E402
from hepcal.knowledge.check import check  # noqa: E402
from hepcal.knowledge.loader import default_path  # noqa: E402


def _broken(tmp_path: Path, edit) -> list[str]:
    dest = tmp_path / "kb"
    shutil.copytree(default_path(), dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = dest / "policy.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return check(read(dest))


def _rule(data: dict, rule_id: str) -> dict:
    return next(r for r in data["must_not_miss"] if r["id"] == rule_id)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: _rule(d, "growing_lesion")["when"].update({"finding.colour": "blue"}), "not a key of the case format"),
    (lambda d: _rule(d, "growing_lesion")["when"].update({"finding.change": "exploding"}), "unknown value(s) exploding"),
    (lambda d: _rule(d, "suspected_aneurysm")["when"]["any"][0]["probability"].update({"made_up_disease": {"min": 0.1}}), "not a diagnosis of the base"),
    (lambda d: _rule(d, "growing_lesion")["steps"][0].update({"action": "pray"}), "action 'pray'"),
    (lambda d: _rule(d, "growing_lesion").update({"forbid": ["further_imaging"]}), "forbids"),
    (lambda d: _rule(d, "growing_lesion").update({"src": [], "estimate": False}), "no source"),
    (lambda d: d["plan"]["rank"].pop("biopsy"), "no rank for action 'biopsy'"),
    (lambda d: d["for_against"]["folded_labels"].update({"finding.count": "x"}), "not a list key"),
])
def test_check_catches_a_broken_plan_policy(tmp_path, edit, message):
    problems = _broken(tmp_path, edit)
    assert any(message in p for p in problems), problems


def test_shipped_plan_policy_is_valid():
    assert check(read()) == []


def test_check_catches_a_broken_applicability_file(tmp_path):
    dest = tmp_path / "kb"
    shutil.copytree(default_path(), dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = dest / "applicability.yaml"
    data = yaml.safe_load(path.read_text())
    data["modalities"]["finding.max_hu"] = ["pet"]
    data["modalities"]["finding.nonsense"] = ["ct"]
    path.write_text(yaml.safe_dump(data))
    problems = check(read(dest))
    assert any("unknown modality pet" in p for p in problems), problems
    assert any("finding.nonsense is not a key" in p for p in problems), problems


def test_conditions_language():
    from hepcal.reasoning.conditions import Facts, cited_keys, holds

    f = Facts({"history.known_primary": "thyroid", "finding.calcification": ["rim", "septal"], "finding.size_mm": 12.0,
               "finding.duct_dilatation": False}, {"hydatid_cyst": 0.3}, 0.2)
    assert holds({"history.known_primary": {"not": ["none"]}}, f)
    assert not holds({"history.known_primary": "none"}, f)
    assert holds({"finding.calcification": "rim"}, f) and holds({"finding.calcification": ["punctate", "septal"]}, f)
    assert not holds({"finding.calcification": "punctate"}, f)
    assert holds({"finding.size_mm": {"min": 10, "max": 30}}, f) and not holds({"finding.size_mm": {"min": 30}}, f)
    assert holds({"finding.duct_dilatation": False}, f) and not holds({"finding.duct_dilatation": True}, f)
    assert holds({"finding.enhancement": {"entered": False}}, f) and not holds({"finding.enhancement": "none"}, f)
    assert holds({"probability": {"hydatid_cyst": {"min": 0.25}}}, f) and not holds({"probability": {"absent_id": {"min": 0.01}}}, f)
    assert holds({"malignancy": {"min": 0.1}}, f)
    cond = {"any": [{"finding.change": "growing"}, {"finding.calcification": "rim"}], "finding.enhancement": {"entered": False}}
    assert holds(cond, f) and cited_keys(cond, f) == {"finding.calcification"}


def test_reasons_never_round_a_probability_to_certainty():
    from hepcal.reasoning.shown import Shown

    assert f"{Shown(0.996):.0%}" == ">99%" and f"{Shown(0.003):.0%}" == "<1%"
    assert f"{Shown(1.0):.0%}" == "100%" and f"{Shown(0.0):.0%}" == "0%" and f"{Shown(0.994):.0%}" == "99%"
    assert f"{Shown(0.9996):.1%}" == ">99.9%" and f"{Shown(0.5):.1f}" == "0.5"


def test_a_probable_malignancy_is_not_merely_not_excluded():
    """A textbook fibrolamellar carcinoma: the reasons say malignancy is more likely than not,
    and no reason states 100 %."""
    from hepcal.reasoning import assess

    case = {"patient": {"age_years": 22, "sex": "female"}, "labs": {"afp_elevated": False},
            "finding": {"modality": ["ct"], "calcification": ["central_scar"], "count": "solitary", "size_mm": 110,
                        "lesion": "solid", "enhancement": "heterogeneous", "background_liver": "normal"}}
    a = assess(case).to_dict()
    reasons = a["recommendation"]["reasons"]
    assert a["malignancy_probability"] > 0.5
    assert any(r.startswith("Malignancy is more likely than not") for r in reasons), reasons
    assert not any("cannot be excluded" in r for r in reasons)
    assert not any("100%" in r for r in reasons), reasons
