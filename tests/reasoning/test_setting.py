"""Priors by clinical setting: the right setting is chosen and its evidence is counted once."""

from __future__ import annotations

import numpy as np
import pytest

from hepcal.knowledge import read
from hepcal.knowledge.check import check
from hepcal.reasoning import assess, network
from hepcal.reasoning.posterior import posterior
from tests.knowledge.test_check import _edit, kb_copy  # noqa: F401 - fixture reused


@pytest.mark.parametrize(
    ("case", "setting"),
    [
        ({"finding": {"calcification": ["rim"]}}, "adult_non_endemic"),
        ({"patient": {"age_years": 2}, "finding": {"calcification": ["coarse"]}}, "young_children"),
        ({"patient": {"fetal": True, "age_years": 0}, "finding": {"count": "few"}}, "fetal"),
        ({"patient": {"fetal": False, "age_years": 0.5}, "finding": {"count": "few"}}, "young_children"),
        ({"patient": {"age_years": 2}, "history": {"known_primary": "other"}, "finding": {"count": "few"}}, "young_children"),
        ({"history": {"known_primary": "ovarian"}, "finding": {"count": "few"}}, "oncology"),
        ({"history": {"known_primary": "none"}, "finding": {"count": "few"}}, "adult_non_endemic"),
        ({"history": {"echinococcus_exposure": True}, "finding": {"count": "few"}}, "endemic"),
        ({"history": {"echinococcus_exposure": False}, "finding": {"count": "few"}}, "adult_non_endemic"),
    ],
)
def test_the_first_matching_setting_is_chosen(case, setting):
    a = assess(case)
    assert a.setting.id == setting
    assert a.to_dict()["setting"]["id"] == setting


def test_the_setting_condition_enters_once_through_the_prior():
    """known_primary=colorectal in the oncology setting: posterior ∝ setting prior ×
    P(colorectal | d, any primary) × P(solitary | d), computed here from the tables directly."""
    net = network()
    kb = net.kb
    a = assess({"history": {"known_primary": "colorectal"}, "finding": {"count": "solitary"}})
    assert a.setting.id == "oncology"
    primaries = [s for s in net.variables[net.var_index["history.known_primary"]].states if s != "none"]
    mass = sum(net.table[net.row("history.known_primary", s)] for s in primaries)
    within = net.table[net.row("history.known_primary", "colorectal")] / mass
    solitary = net.table[net.row("finding.count", "solitary")]
    given = np.array(["oncology" in d.priors for d in kb.diagnoses])
    stated = np.array([d.priors["oncology"].p if "oncology" in d.priors else 0.0 for d in kb.diagnoses])
    share = net.prior * mass * ~given
    prior = np.where(given, stated, share / share.sum() * (1 - stated.sum()))
    expected = prior * within * solitary
    expected /= expected.sum()
    exact = posterior(net, [o.row for o in a.observations], a.setting.log_prior)  # the network as fitted
    np.testing.assert_allclose(exact, expected, rtol=1e-9, atol=1e-12)
    # the assessment shows that posterior averaged over the likelihoods' uncertainty: near it, not equal
    got = np.array([a.probability_of(i) for i in kb.ids])
    assert abs(got.sum() - 1) < 1e-9 and np.abs(got - expected).max() < 0.1
    assert int(got.argmax()) == int(expected.argmax())


def test_within_the_setting_the_detail_still_counts():
    """Both children: an infant and a 3-year-old get different differentials (age bands inside the setting)."""
    case = {"finding": {"calcification": ["punctate"], "lesion": "solid", "count": "solitary", "size_mm": 40}}
    infant = assess({**case, "patient": {"age_years": 0.2}})
    toddler = assess({**case, "patient": {"age_years": 3}})
    assert infant.setting.id == toddler.setting.id == "young_children"
    assert infant.probability_of("infantile_hemangioma") > toddler.probability_of("infantile_hemangioma")


def test_a_known_primary_with_new_calcified_nodules_leads_to_metastasis():
    a = assess({"history": {"known_primary": "colorectal"}, "finding": {"calcification": ["punctate"], "count": "multiple", "lesion": "solid", "change": "new"}})
    assert a.differential[0].id == "metastasis"


def test_settings_problems_are_caught(kb_copy):  # noqa: F811
    _edit(kb_copy / "diagnoses" / "granuloma.yaml", lambda d: d["priors"].update(oncology={"p": 0.9, "estimate": True}, nowhere={"p": 0.1, "estimate": True}))
    problems = check(read(kb_copy))
    assert any("oncology" in p and "sum to" in p for p in problems)
    assert any("'nowhere' is not a setting" in p for p in problems)


def test_for_and_against_weigh_the_setting_variable_within_the_setting():
    """Known primary: its weight is the within-setting ratio, not the ratio that chose the setting."""
    from hepcal.reasoning.explain import explain_diagnosis

    case = {"history": {"known_primary": "colorectal"}, "finding": {"count": "solitary"}}
    a = assess(case)
    entry = next(e for e in a.differential if e.id == "metastasis")
    weights = {c.finding: c.weight for c in entry.pro + entry.con}
    ex = explain_diagnosis(case, "metastasis")
    row = next(f for f in ex["findings"] if f["variable"] == "history.known_primary")
    assert row["within_setting"] is True
    assert weights["history.known_primary=colorectal"] == pytest.approx(np.log(row["likelihood_ratio"]), rel=1e-6)
    assert row["likelihood_ratio"] < 10  # the raw ratio (tens) is already in the oncology prior
    assert ex["setting"]["id"] == "oncology" and ex["setting"]["p"] == read().diagnosis("metastasis").priors["oncology"].p
