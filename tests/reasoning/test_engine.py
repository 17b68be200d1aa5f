"""The engine's mathematics on the shipped knowledge base."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from hepcal.findings import contract, parse_case
from hepcal.reasoning import assess, network
from hepcal.reasoning.evidence import observations
from hepcal.reasoning.next_finding import information_gain
from hepcal.reasoning.posterior import entropy_bits, posterior

CASES = [
    {"finding": {"calcification": ["rim"], "count": "solitary"}},
    {"finding": {"calcification": ["central_scar"], "lesion": "solid", "size_mm": 120}, "patient": {"age_years": 24}},
    {"finding": {"calcification": ["punctate", "amorphous"], "count": "multiple"}, "history": {"known_primary": "colorectal"}},
    {"finding": {"calcification": ["ductal"], "duct_dilatation": True, "acoustic_shadowing": True}},
    {"finding": {"max_hu": 800, "calcification": ["coarse"]}, "history": {"prior_liver_procedure": ["tace"]}},
]


@pytest.mark.parametrize("data", CASES)
def test_posterior_sums_to_one_and_covers_every_diagnosis(data):
    a = assess(data)
    probs = [e.probability for e in a.differential]
    assert len(probs) == len(contract().diagnoses)
    assert {e.id for e in a.differential} == set(contract().diagnoses)
    assert sum(probs) == pytest.approx(1.0, abs=1e-12)
    assert probs == sorted(probs, reverse=True)
    assert 0.0 <= a.malignancy_probability <= 1.0


def test_marginalising_an_unknown_equals_omitting_it():
    """Summing the posterior over the states of an unobserved finding changes nothing."""
    net = network()
    case = parse_case({"finding": {"calcification": ["rim"], "count": "solitary"}})
    obs = observations(case, net)
    base = posterior(net, [o.row for o in obs])
    for var in ("finding.lesion", "history.fever", "finding.size_mm", "labs.echinococcus_serology_positive"):
        i = net.var_index[var]
        joint = np.zeros_like(base)
        for row in range(net.offsets[i], net.offsets[i + 1]):
            # P(d, v=s | e) = P(v=s | e) P(d | e, v=s)
            unnorm = np.exp(net.log_prior + net.log_table[[o.row for o in obs] + [row]].sum(axis=0))
            joint += unnorm
        joint /= joint.sum()
        np.testing.assert_allclose(joint, base, atol=1e-12)


def test_omitted_key_and_explicit_absence_of_information_are_the_same():
    a = assess({"finding": {"calcification": ["rim"]}})
    b = assess({"finding": {"calcification": ["rim"]}, "history": {}, "labs": {}})
    assert [e.probability for e in a.differential] == [e.probability for e in b.differential]


@pytest.mark.parametrize(
    ("base", "section", "key", "value", "favoured"),
    [
        ({"finding": {"calcification": ["rim"]}}, "labs", "echinococcus_serology_positive", True, "hydatid_cyst"),
        ({"finding": {"calcification": ["rim"]}}, "history", "trauma_or_bleeding", True, "hematoma"),
        ({"finding": {"calcification": ["punctate"]}}, "finding", "duct_dilatation", True, "hepatolithiasis"),
        ({"finding": {"calcification": ["punctate"]}}, "history", "known_primary", "colorectal", "metastasis"),
        ({"finding": {"calcification": ["coarse"]}}, "history", "prior_liver_procedure", ["tace"], "lipiodol_deposit"),
    ],
)
def test_a_finding_that_favours_d_raises_d(base, section, key, value, favoured):
    before = assess(base).probability_of(favoured)
    data = copy.deepcopy(base)
    data.setdefault(section, {})[key] = value
    after = assess(data).probability_of(favoured)
    assert after > before


def test_listed_pattern_changes_the_posterior_and_unlisted_patterns_count_as_absent():
    rim = assess({"finding": {"calcification": ["rim"]}})
    rim_central = assess({"finding": {"calcification": ["rim", "central"]}})
    assert rim.to_dict()["differential"] != rim_central.to_dict()["differential"]
    labels = {o.label for o in rim.observations}
    assert "finding.calcification=rim" in labels
    assert "finding.calcification≠central" in labels


def test_for_and_against_weights_have_the_right_sign():
    a = assess({"finding": {"calcification": ["ductal"], "duct_dilatation": True}})
    stones = next(e for e in a.differential if e.id == "hepatolithiasis")
    granuloma = next(e for e in a.differential if e.id == "granuloma")
    assert any(c.finding == "finding.duct_dilatation=true" and c.weight > 0 for c in stones.pro)
    assert any(c.finding == "finding.duct_dilatation=true" and c.weight < 0 for c in granuloma.con)


def test_information_gain_is_non_negative_and_bounded():
    net = network()
    post = posterior(net, [])
    gains = information_gain(net, post)
    assert (gains >= -1e-12).all()
    assert (gains <= entropy_bits(post) + 1e-12).all()


def test_next_findings_exclude_what_is_known_and_are_ranked():
    a = assess({"finding": {"calcification": ["rim"], "count": "solitary"}, "history": {"echinococcus_exposure": False}})
    keys = [n.finding for n in a.next_findings]
    assert "history.echinococcus_exposure" not in keys and "finding.count" not in keys
    gains = [n.expected_information_gain_bits for n in a.next_findings]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0


def test_assessment_output_follows_the_contract(rim_case):
    out = assess(rim_case).to_dict()
    assert set(out) >= {"differential", "malignancy_probability", "doubtful", "recommendation", "next_findings", "knowledge_base"}
    entry = out["differential"][0]
    assert set(entry) >= {"id", "name", "probability", "malignant", "for", "against"}
    assert out["recommendation"]["action"] in contract().actions
    assert out["knowledge_base"]["version"]
    for n in out["next_findings"]:
        assert set(n) >= {"finding", "expected_information_gain_bits"}


def test_pgmpy_computes_the_same_posterior():
    pytest.importorskip("pgmpy")
    from hepcal.reasoning.pgmpy_model import PgmpyEngine

    net = network()
    ref = PgmpyEngine(net)
    for data in CASES:
        obs = observations(parse_case(data), net)
        np.testing.assert_allclose(posterior(net, [o.row for o in obs]), ref.posterior(obs), atol=1e-9)


def test_pgmpy_computes_the_same_information_gain():
    pytest.importorskip("pgmpy")
    from hepcal.reasoning.pgmpy_model import PgmpyEngine

    net = network()
    ref = PgmpyEngine(net)
    obs = observations(parse_case(CASES[0]), net)
    ids = ["finding.lesion", "labs.echinococcus_serology_positive", "patient.age_years"]
    gains = information_gain(net, posterior(net, [o.row for o in obs]))
    for var_id, g in ref.information_gain(obs, ids).items():
        assert gains[net.var_index[var_id]] == pytest.approx(g, abs=1e-9)
