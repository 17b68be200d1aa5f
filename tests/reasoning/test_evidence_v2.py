"""Evidence from the version-2 keys: AFP read against age, keys that must not count twice."""

from __future__ import annotations

import pytest

from hepcal.reasoning import assess, network
from hepcal.reasoning.evidence import observations
from hepcal.findings import parse_case


def _obs(case: dict) -> dict[str, str]:
    net = network()
    return {o.variable: o.state for o in observations(parse_case(case), net)}


@pytest.mark.parametrize(
    ("age", "afp", "state"),
    [
        (0.01, 40000.0, "false"),  # a newborn: 40,000 ng/mL is normal
        (0.01, 400000.0, "true"),
        (0.3, 250.0, "false"),  # 3.6 months: within 270
        (1.0, 500.0, "true"),
        (50.0, 25.0, "true"),  # an adult: above about 10 ng/mL
        (50.0, 5.0, "false"),
    ],
)
def test_afp_is_read_against_the_reference_for_age(age, afp, state):
    obs = _obs({"patient": {"age_years": age}, "labs": {"afp_ng_ml": afp}, "finding": {"count": "solitary"}})
    assert obs["labs.afp_elevated"] == state


def test_afp_without_age_counts_only_when_every_age_agrees():
    base = {"finding": {"count": "solitary"}}
    assert _obs({**base, "labs": {"afp_ng_ml": 3.0}})["labs.afp_elevated"] == "false"
    assert _obs({**base, "labs": {"afp_ng_ml": 500000.0}})["labs.afp_elevated"] == "true"
    assert "labs.afp_elevated" not in _obs({**base, "labs": {"afp_ng_ml": 5000.0}})


def test_the_number_replaces_the_yes_no_key_instead_of_counting_twice():
    both = {"patient": {"age_years": 0.05}, "labs": {"afp_ng_ml": 20000.0, "afp_elevated": True}, "finding": {"count": "solitary"}}
    obs = observations(parse_case(both), network())
    afp = [o for o in obs if o.variable == "labs.afp_elevated"]
    assert len(afp) == 1 and afp[0].state == "false" and "afp_ng_ml" in afp[0].label


def test_high_afp_for_age_moves_an_infant_towards_hepatoblastoma():
    case = {"patient": {"age_years": 1.5}, "finding": {"calcification": ["coarse"], "lesion": "solid", "count": "solitary", "size_mm": 80}}
    low = assess({**case, "labs": {"afp_ng_ml": 20.0}}).probability_of("hepatoblastoma")
    high = assess({**case, "labs": {"afp_ng_ml": 20000.0}}).probability_of("hepatoblastoma")
    assert high / (1 - high) > 3 * low / (1 - low)


def test_calcified_counts_only_without_a_pattern():
    assert _obs({"finding": {"calcified": True}})["finding.calcified"] == "true"
    obs = _obs({"finding": {"calcified": True, "calcification": ["rim"]}})
    assert "finding.calcified" not in obs and obs["finding.calcification.rim"] == "true"


def test_a_v1_case_gives_the_same_observations_as_before():
    """No v2 variable is observed for a case that uses only v1 keys."""
    case = {"history": {"incidental": True}, "finding": {"calcification": ["rim"], "count": "solitary"}}
    assert set(_obs(case)) == {"history.incidental", "finding.count"} | {f"finding.calcification.{p}" for p in
        ("punctate", "coarse", "rim", "central", "central_scar", "amorphous", "septal", "linear", "ductal", "diffuse", "dense_nodular", "vascular")}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({"history": {"prior_abdominal_surgery": True, "surgical_packing": True}, "finding": {"calcification": ["rim", "linear"], "lesion": "mixed", "count": "solitary", "size_mm": 60, "compartment": "perihepatic"}}, "retained_surgical_sponge"),
        ({"finding": {"calcification": ["coarse"], "lesion": "none", "count": "solitary", "compartment": "gallbladder"}}, "extrahepatic_mimic"),
        ({"patient": {"fetal": True, "age_years": 0}, "finding": {"calcification": ["punctate"], "lesion": "none", "count": "few", "size_mm": 3}}, "fetal_hepatic_calcification"),
        ({"history": {"prior_liver_procedure": ["biliary_surgery"]}, "finding": {"calcification": ["linear", "ductal"], "lesion": "none", "count": "multiple", "max_hu": -600}}, "pneumobilia"),
    ],
)
def test_new_diagnoses_lead_on_their_typical_findings(case, expected):
    assert assess(case).differential[0].id == expected
