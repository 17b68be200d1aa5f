"""Case format version 2: additive keys, v1 cases unchanged, contradictions rejected."""

from __future__ import annotations

import pytest
import yaml

from hepcal.findings import CaseError, contract, json_schema, parse_case
from tests.conftest import EXAMPLES

V2_KEYS = {
    "patient.fetal", "history.pregnancy_or_postpartum", "history.prior_abdominal_surgery",
    "history.surgical_packing", "history.transfusion_iron_overload", "history.antiparasitic_treatment",
    "labs.inflammatory_markers_elevated", "labs.afp_ng_ml", "finding.calcified", "finding.lymphadenopathy",
    "finding.extrahepatic_calcification", "finding.compartment",
}
V2_DIAGNOSES = {
    "bile_duct_wall_calcification", "fetal_hepatic_calcification", "pneumobilia", "portal_venous_gas",
    "extrahepatic_mimic", "tuberculoma", "retained_surgical_sponge", "hepatic_artery_aneurysm",
}


def test_contract_is_version_2_and_marks_what_it_added():
    c = contract()
    assert c.version == 2
    added = {path for path, spec in c.fields.items() if spec.since == 2}
    assert added == V2_KEYS
    assert V2_DIAGNOSES <= set(c.diagnoses)
    assert {"mrcp", "ercp"} <= set(c.field("finding.modality").values)


def test_every_v1_example_is_still_valid_and_unchanged():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        case = parse_case(data)
        assert case.model_dump(exclude_none=True) == data


def test_a_full_v2_case_is_accepted():
    case = parse_case({
        "patient": {"age_years": 0.2, "fetal": False},
        "history": {"pregnancy_or_postpartum": False, "prior_abdominal_surgery": True, "surgical_packing": True,
                    "transfusion_iron_overload": False, "antiparasitic_treatment": False},
        "labs": {"inflammatory_markers_elevated": True, "afp_ng_ml": 5000.0},
        "finding": {"calcified": True, "lymphadenopathy": False, "extrahepatic_calcification": ["spleen"],
                    "compartment": "perihepatic", "modality": ["mrcp"]},
    })
    assert case.finding.compartment == "perihepatic"


def test_calcified_false_with_a_pattern_is_rejected_with_the_reason():
    with pytest.raises(CaseError) as exc:
        parse_case({"finding": {"calcified": False, "calcification": ["rim"]}})
    assert "finding.calcification" in str(exc.value) and "calcified is false" in str(exc.value)
    # an empty list (no pattern) does not contradict "not calcified"
    assert parse_case({"finding": {"calcified": False, "calcification": []}}).finding.calcified is False


@pytest.mark.parametrize(("key", "value"), [("finding.compartment", "lung"), ("finding.extrahepatic_calcification", ["liver"]), ("labs.afp_ng_ml", -1.0)])
def test_bad_v2_values_name_the_key_and_what_is_allowed(key, value):
    section, name = key.split(".")
    with pytest.raises(CaseError) as exc:
        parse_case({"finding": {"count": "solitary"}, section: {name: value}} if section != "finding" else {"finding": {name: value}})
    assert key in str(exc.value)


def test_schema_describes_v2():
    schema = json_schema()
    assert "version 2" in schema["title"]
    finding = schema["$defs"]["Finding"]["properties"]
    assert {"calcified", "lymphadenopathy", "extrahepatic_calcification", "compartment"} <= set(finding)
