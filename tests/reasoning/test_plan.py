"""The plan, the must-not-miss rules, case-bound reasons and folded for/against lists."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from hepcal.knowledge import load
from hepcal.reasoning import assess, network
from hepcal.reasoning.recommendation import recommend
from tests.reasoning.test_policy import _random_case

# Words that claim something about the case, and the key that must be entered for them.
LEXICON = {
    r"duct dilatation|dilate|calibre": "finding.duct_dilatation",
    r"soft tissue": "finding.lesion",
    r"(?<!contrast-)(?<!contrast )\benhanc": "finding.enhancement",
    r"shadow": "finding.acoustic_shadowing",
    r"known (\w+ )?(primary|cancer)": "history.known_primary",
    r"\bgrow": "finding.change",
    r"capsular retraction": "finding.capsular_retraction",
    r"\bHU\b|attenuation": "finding.max_hu",
}


def _entered(case: dict) -> set[str]:
    return {f"{s}.{k}" for s, keys in case.items() for k in keys}


def _cases(n: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n):
        case = _random_case(rng)
        yield case, assess(case)


def test_every_reason_cites_only_entered_findings():
    """Over many random cases, no reason (nor plan step reason) names a finding the case lacks:
    neither by its declared keys nor by the words it uses."""
    checked = 0
    for case, a in _cases(1500, 7):
        entered = _entered(case)
        rec = a.recommendation
        assert len(rec.cited) == len(rec.reasons)
        for text, keys in zip(rec.reasons, rec.cited):
            assert keys <= entered, (text, keys - entered)
            for pattern, key in LEXICON.items():
                if re.search(pattern, text, re.I):
                    assert key in entered, (text, key, case)
                    checked += 1
        for step in rec.plan:
            assert step.cites <= entered, (step.reason, step.cites - entered)
    assert checked > 100


def test_lexicon_catches_the_reported_faults():
    """The words of the issue's faulty reasons are caught by the lexicon (the check is not vacuous)."""
    bad = ["Calcifications do not dilate the bile ducts; ducts of normal calibre argue against a duct stone.",
           "A small focus without soft tissue or enhancement."]
    for text in bad:
        assert any(re.search(p, text, re.I) for p in LEXICON)


def test_known_primary_is_not_searched_for():
    a = assess({"history": {"known_primary": "thyroid"},
                "finding": {"calcification": ["punctate"], "count": "multiple", "lesion": "solid", "size_mm": 15}})
    assert not any("search for the primary" in n for n in a.recommendation.next_tests)
    b = assess({"history": {"known_primary": "none"},
                "finding": {"calcification": ["punctate"], "count": "multiple", "lesion": "solid", "size_mm": 15}})
    assert any("metastasis" == e.id for e in b.differential[:5])


def test_ultrasound_case_is_not_offered_ct_or_contrast_findings():
    a = assess({"finding": {"modality": ["us"], "calcification": ["coarse"], "count": "solitary"}})
    offered = {n.finding for n in a.next_findings}
    assert offered and not offered & {"finding.max_hu", "finding.enhancement", "finding.metallic_artifact"}
    b = assess({"finding": {"modality": ["ct"], "calcification": ["coarse"], "count": "solitary"}})
    assert "finding.acoustic_shadowing" not in {n.finding for n in b.next_findings}


# --- must-not-miss rules -------------------------------------------------------------------


def test_known_primary_with_multiple_new_calcified_nodules_is_never_dismissed():
    """Issue's dangerous miss: granuloma at the top must not end in 'no follow-up'."""
    a = assess({"history": {"known_primary": "thyroid"},
                "finding": {"modality": ["ct"], "calcification": ["dense_nodular"], "count": "multiple",
                            "change": "new", "lesion": "none", "size_mm": 8}})
    actions = [s.action for s in a.recommendation.plan]
    assert a.differential[0].id != "metastasis"  # the engine itself leads elsewhere (granuloma in the issue)
    assert "no_follow_up" not in actions
    assert "known_primary_new_nodules" in a.recommendation.must_not_miss
    assert a.recommendation.action == actions[0] == "further_imaging"


@pytest.mark.parametrize("finding", [{"change": "growing", "count": "solitary"}, {"count": "innumerable"}, {"change": "new", "count": "few"}])
def test_known_primary_rule_for_each_trigger(finding):
    a = assess({"history": {"known_primary": "colorectal"},
                "finding": {"calcification": ["punctate"], "lesion": "none", "size_mm": 5, **finding}})
    assert "no_follow_up" not in [s.action for s in a.recommendation.plan]


def test_calcified_hilar_mass_with_duct_dilatation_gets_cholangiocarcinoma_excluded():
    """Issue's dangerous miss: stones lead, yet cholangiocarcinoma is excluded and P(malignant) > 0."""
    a = assess({"finding": {"modality": ["ct"], "calcification": ["coarse", "ductal"], "lesion": "solid",
                            "location": "hilar", "duct_dilatation": True, "count": "solitary"}})
    rec = a.recommendation
    assert {e.id for e in a.differential[:2]} == {"hepatolithiasis", "intrahepatic_cholangiocarcinoma"}
    assert a.malignancy_probability > 0.05
    assert "mass_with_duct_dilatation" in rec.must_not_miss
    imaging = [s for s in rec.plan if s.action == "further_imaging"]
    assert imaging and "cholangiocarcinoma" in imaging[0].text
    assert [s.action for s in rec.plan] == ["further_imaging", "biopsy"]
    # stones lead clearly (not to be punctured), yet the rule holds and its tissue diagnosis stays,
    # after the imaging that shows a mass or stricture
    stones = assess({"finding": {"modality": ["us"], "calcification": ["ductal"], "acoustic_shadowing": True,
                                 "location": "hilar", "duct_dilatation": True, "count": "few"}})
    assert stones.differential[0].id == "hepatolithiasis" and stones.differential[0].probability > 0.8
    assert stones.malignancy_probability > 0.04  # the stones' own cholangiocarcinoma risk
    assert "mass_with_duct_dilatation" in stones.recommendation.must_not_miss
    actions = [s.action for s in stones.recommendation.plan]
    assert actions[0] == "further_imaging" and "biopsy" in actions
    assert "cholangiocarcinoma" in stones.recommendation.plan[0].text


def test_duct_stones_and_adenoma_carry_malignant_potential():
    kb = load()
    for did in ("hepatolithiasis", "hepatic_adenoma"):
        d = kb.diagnosis(did)
        assert 0 < d.malignant.p < 0.5 and d.malignant.src


def test_growing_lesion_is_worked_up_whatever_leads():
    a = assess({"finding": {"calcification": ["dense_nodular"], "lesion": "none", "size_mm": 6, "count": "solitary", "change": "growing"}})
    actions = [s.action for s in a.recommendation.plan]
    assert "growing_lesion" in a.recommendation.must_not_miss
    assert "no_follow_up" not in actions and "further_imaging" in actions


def test_suspected_aneurysm_gets_ct_angiography_and_no_needle():
    a = assess({"finding": {"calcification": ["vascular", "rim"], "location": "hilar", "lesion": "cystic", "count": "solitary", "size_mm": 30}})
    rec = a.recommendation
    assert "suspected_aneurysm" in rec.must_not_miss
    assert any("CT angiography" in s.text for s in rec.plan)
    assert "biopsy" not in [s.action for s in rec.plan]


def test_retained_sponge_gets_surgical_referral():
    a = assess({"history": {"prior_liver_procedure": ["resection"]},
                "finding": {"calcification": ["linear"], "lesion": "mixed", "metallic_artifact": True, "count": "solitary", "size_mm": 40}})
    rec = a.recommendation
    assert "retained_sponge" in rec.must_not_miss, [(e.id, e.probability) for e in a.differential[:3]]
    assert "surgical_referral" in [s.action for s in rec.plan]


def test_rules_keyed_on_awaited_diagnoses_fire_from_their_probability():
    """A rule reads P(diagnosis); a base without that diagnosis reads 0, one with it fires the rule."""
    net = network()
    kb = net.kb
    pol = kb.policy
    rule = next(r for r in pol.must_not_miss if r.id == "suspected_aneurysm")
    assert any("hepatic_artery_aneurysm" in c.get("probability", {}) for c in rule.when["any"])
    from hepcal.reasoning.conditions import Facts, holds

    assert holds(rule.when, Facts({}, {"hepatic_artery_aneurysm": 0.2}))
    assert not holds(rule.when, Facts({}, {}))


def test_malignancy_not_excluded_reads_the_upper_bound_of_the_interval():
    net = network()
    post = np.zeros(len(net.ids))
    post[net.ids.index("granuloma")] = 0.97
    post[net.ids.index("metastasis")] = 0.03
    low = recommend(net, post, 0.03)
    high = recommend(net, post, 0.03, malignancy_interval=(0.01, 0.15))
    assert not any("cannot be excluded" in r for r in low.reasons)
    assert any("cannot be excluded" in r and "15%" in r for r in high.reasons)


# --- the plan never contradicts a caution ---------------------------------------------------


@pytest.mark.parametrize("did", [d.id for d in load().diagnoses if d.puncture.advice == "avoid"])
def test_no_needle_before_excluding_a_diagnosis_that_must_not_be_punctured(did):
    """For every diagnosis whose puncture advice is 'avoid': while it keeps a caution-level
    posterior beside a doubtful malignant alternative, its exclusion step precedes any needle."""
    net = network()
    kb = net.kb
    post = np.full(len(net.ids), 1e-6)
    post[net.ids.index(did)] = kb.policy.caution_probability.value + 0.05
    post[net.ids.index("intrahepatic_cholangiocarcinoma")] = 0.45
    post[net.ids.index("hemangioma")] = 0.4
    post /= post.sum()
    rec = recommend(net, post, float(post @ net.malignant))
    actions = [s.action for s in rec.plan]
    d = kb.diagnosis(did)
    ex = d.management.exclude
    assert ex is not None, f"{did}: puncture advice 'avoid' needs management.exclude"
    origins = [s.origin for s in rec.plan]
    k = next(i for i, o in enumerate(origins) if f"exclude:{did}" in o)
    if "biopsy" in actions:
        assert k < actions.index("biopsy"), actions
    assert rec.action == actions[0]


def test_a_withheld_needle_is_not_offered_in_words():
    """When diagnoses that must not be punctured hold the case, the doubtful biopsy leaves the plan
    and the reasons say so; they never still offer the biopsy the plan no longer has."""
    net = network()
    kb = net.kb
    post = np.full(len(net.ids), 1e-6)
    post[net.ids.index("hydatid_cyst")] = 0.55
    post[net.ids.index("mucinous_cystic_neoplasm")] = 0.25
    post[net.ids.index("hemangioma")] = 0.2
    post /= post.sum()
    rec = recommend(net, post, float(post @ net.malignant))
    assert "biopsy" not in [s.action for s in rec.plan]
    assert kb.policy.texts["biopsy_offered"] not in rec.reasons
    withheld = [r for r in rec.reasons if r.startswith("No needle is offered")]
    assert len(withheld) == 1 and "Hydatid cyst" in withheld[0] and "80%" in withheld[0], rec.reasons


def test_plan_is_well_formed_on_random_cases():
    contract_actions = set(__import__("hepcal.findings", fromlist=["contract"]).contract().actions)
    for case, a in _cases(800, 11):
        plan = a.recommendation.plan
        assert plan and a.recommendation.action == plan[0].action
        assert all(s.action in contract_actions and s.text and s.reason for s in plan)
        assert plan[-1].then is None and all(s.then for s in plan[:-1])
        d = a.recommendation.to_dict()["plan"]
        assert [s["step"] for s in d] == list(range(1, len(d) + 1))
        actions = [s.action for s in plan]
        offered = load().policy.texts["biopsy_offered"] in a.recommendation.reasons
        assert not offered or "biopsy" in actions, (case, actions)
        if "biopsy" in actions:
            first_needle = actions.index("biopsy")
            kb = load()
            post = {e.id: e.probability for e in a.differential}
            for dg in kb.diagnoses:
                if dg.puncture.advice == "avoid" and post[dg.id] >= kb.policy.caution_probability.value:
                    assert any(f"exclude:{dg.id}" in s.origin for s in plan[:first_needle]), (dg.id, actions)


# --- for / against ----------------------------------------------------------------------------


def test_implied_negatives_are_folded_into_one_line_per_key():
    pol = load().policy.for_against
    for case, a in _cases(300, 3):
        for e in a.differential[:3]:
            lines = [c.finding for c in (*e.pro, *e.con)]
            assert not any("≠" in x for x in lines)
            folded = [c for c in (*e.pro, *e.con) if c.finding in pol.folded_labels.values()]
            assert len({c.finding for c in folded}) == len(folded)
            assert all(abs(c.weight) >= pol.implied_min_weight for c in folded)


def test_the_reported_thyroid_case_gets_reasons_from_its_own_findings():
    """Issue case: multiple calcified nodules and a known thyroid cancer, nothing else entered.
    No reason about ducts, soft tissue or enhancement; no search for the primary; never dismissed."""
    a = assess({"history": {"known_primary": "thyroid"}, "finding": {"calcification": ["punctate"], "count": "multiple"}})
    rec = a.recommendation
    text = " ".join(rec.reasons + [s.reason for s in rec.plan]).lower()
    for absent in ("duct", "calibre", "soft tissue", "enhancement"):
        assert absent not in text, absent
    assert not any("search for the primary" in n.lower() for n in rec.next_tests)
    assert "thyroid" in text  # the reason names what was entered
    assert "no_follow_up" not in [s.action for s in rec.plan]


def test_no_unconditional_management_reason_claims_a_finding():
    """A diagnosis's own reasons are shown whenever it leads; one that speaks of a finding (by the
    lexicon's words) must be conditioned on that finding (``when``), or it would claim what the case
    may not state. Checked over the data, not only over the random cases above."""
    kb = load()
    offending = []
    for d in kb.diagnoses:
        for r in d.management.reasons:
            when = str(r.when or "")
            for pattern, key in LEXICON.items():
                if re.search(pattern, r.text, re.I) and key not in when:
                    offending.append((d.id, key, r.text))
    assert not offending, offending
