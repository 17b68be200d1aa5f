"""The doubt and recommendation policy (policy.yaml) as issue requirements state it."""

from __future__ import annotations

import random

import numpy as np

from hepcal.findings import contract
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
    return case


def test_small_dense_calcified_granuloma_without_soft_tissue_gets_no_biopsy():
    a = assess({"finding": {"calcification": ["dense_nodular"], "lesion": "none", "size_mm": 6, "count": "solitary"}})
    assert a.differential[0].id == "granuloma"
    assert a.recommendation.action == "no_follow_up"
    assert not a.doubtful


def test_benign_leader_with_malignancy_not_excluded_is_biopsied_not_dismissed():
    """A confident haemangioma whose remaining probability is malignant: no longer 'no follow-up'."""
    case = {
        "patient": {"age_years": 59, "sex": "female"},
        "history": {"right_upper_quadrant_pain": True},
        "finding": {"modality": ["us", "ct"], "count": "multiple", "size_mm": 270, "lesion": "mixed",
                    "enhancement": "peripheral_nodular"},
    }
    a = assess(case)
    pol = network().kb.policy
    assert a.differential[0].id == "hemangioma" and not a.doubtful
    assert a.malignancy_probability >= pol.malignancy_not_excluded.value
    assert a.recommendation.action == "biopsy"
    assert a.recommendation.rule == "malignancy_not_excluded"
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
