"""FHIR R4: the Bundle validates with fhir.resources and carries the report and its basis."""

from __future__ import annotations

import json

import pytest

from hepcal.report.fhir import bundle, validate
from hepcal.report.source import from_case
from tests.report.conftest import EXAMPLE_IDS, NOW

SCT, RADLEX, LOINC = "http://snomed.info/sct", "http://www.radlex.org", "http://loinc.org"


def _load(reports) -> dict:
    return json.loads(reports["fhir.json"].read_text("utf-8"))


def _resources(b: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == kind]


def _codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


@pytest.fixture(scope="module")
def bundles(example_reports, scan_reports) -> dict[str, dict]:
    return {name: _load(r) for name, r in example_reports.items()} | {"scan": _load(scan_reports)}


@pytest.mark.parametrize("name", EXAMPLE_IDS + ["scan"])
def test_bundle_validates_as_r4(bundles, name):
    parsed = validate(bundles[name])
    assert parsed.type == "collection"
    assert parsed.entry[0].resource.get_resource_type() == "DiagnosticReport"


@pytest.mark.parametrize("name", EXAMPLE_IDS + ["scan"])
def test_diagnostic_report_is_coded_and_concludes(bundles, name):
    (report,) = _resources(bundles[name], "DiagnosticReport")
    assert (("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD")) in _codes(report["category"][0])
    assert (LOINC, "18748-4") in _codes(report["code"])
    assert report["status"] == "preliminary"
    assert "Leading diagnosis" in report["conclusion"] and "not a diagnosis" in report["conclusion"]
    assert report["conclusionCode"]
    assert report["issued"] == "2026-03-14T09:26:00Z"


@pytest.mark.parametrize("name", EXAMPLE_IDS + ["scan"])
def test_every_result_reference_resolves(bundles, name):
    b = bundles[name]
    urls = {e["fullUrl"] for e in b["entry"]}
    (report,) = _resources(b, "DiagnosticReport")
    assert {r["reference"] for r in report["result"]} == urls - {b["entry"][0]["fullUrl"]}
    for obs in _resources(b, "Observation"):
        for ref in obs.get("derivedFrom", []):
            assert ref["reference"] in urls


def test_calcification_is_coded_in_snomed_and_radlex_with_the_liver_as_site(bundles):
    b = bundles["seed-rim-calcified-mass"]
    lesion = next(o for o in _resources(b, "Observation") if (SCT, "18115005") in _codes(o["code"]))
    assert (RADLEX, "RID5196") in _codes(lesion["code"])
    assert {(SCT, "10200004"), (RADLEX, "RID58")} <= _codes(lesion["bodySite"])
    rim = [c for c in lesion["component"] if "valueCodeableConcept" in c and (SCT, "129751002") in _codes(c["valueCodeableConcept"])]
    assert rim, "the rim pattern carries its SNOMED CT code"


def test_diagnosis_probabilities_match_the_assessment(kb):
    src = from_case({"finding": {"calcification": ["rim"], "count": "solitary"}}, kb)
    b = bundle(src, now=NOW)
    diff = src.lesions[0].assessment["differential"]
    probs = [o for o in _resources(b, "Observation") if o["code"]["coding"][0]["code"] == "diagnosis_probability"]
    assert len(probs) == 3
    for obs, entry in zip(probs, diff):
        assert obs["valueQuantity"]["value"] == pytest.approx(entry["probability"], abs=1e-6)
        dx = obs["component"][0]["valueCodeableConcept"]
        assert ("urn:hepcal:diagnosis", entry["id"]) in _codes(dx)
    mal = next(o for o in _resources(b, "Observation") if o["code"]["coding"][0]["code"] == "malignancy_probability")
    assert mal["valueQuantity"]["value"] == pytest.approx(src.lesions[0].assessment["malignancy_probability"], abs=1e-6)


def test_a_mapped_diagnosis_carries_its_snomed_code(kb):
    src = from_case({"finding": {"calcification": ["rim"], "count": "solitary"}, "history": {"trauma_or_bleeding": True}}, kb)
    b = bundle(src, now=NOW)
    coded = [c for o in _resources(b, "Observation") for comp in o.get("component", [])
             for c in comp.get("valueCodeableConcept", {}).get("coding", []) if c["system"] == SCT]
    assert coded


def test_scan_bundle_has_one_lesion_observation_per_lesion_with_volume(bundles):
    lesions = [o for o in _resources(bundles["scan"], "Observation") if (SCT, "18115005") in _codes(o["code"])]
    assert len(lesions) == 2
    for o in lesions:
        vol = [c for c in o["component"] if (SCT, "118565006") in _codes(c["code"])]
        assert vol and vol[0]["valueQuantity"]["code"] == "mm3"


def test_same_inputs_same_bundle(kb):
    src = from_case({"finding": {"calcification": ["punctate"]}}, kb)
    assert bundle(src, now=NOW) == bundle(src, now=NOW)


def test_no_patient_identifier_in_the_scan_bundle(bundles):
    from tests.report.scan_study import PATIENT_ID, PATIENT_NAME

    text = json.dumps(bundles["scan"])
    assert PATIENT_ID not in text and PATIENT_NAME not in text
