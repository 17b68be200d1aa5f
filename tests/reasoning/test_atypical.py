"""The "none of these fits" flag: calibrated on the library, raised for findings no diagnosis explains."""

from __future__ import annotations

import yaml

from hepcal.reasoning import assess, network
from hepcal.reasoning.atypical import Calibration, calibrate, calibration, judge, write_calibration
from hepcal.reasoning.library_index import load_records
from hepcal.reasoning.similar import build_index
from tests.conftest import EXAMPLES

ODD = {  # a combination no single diagnosis of the knowledge base produces
    "patient": {"age_years": 30},
    "history": {"thorotrast": True, "pregnancy_or_postpartum": True},
    "labs": {"echinococcus_serology_positive": True},
    "finding": {"calcification": ["central_scar", "septal"], "fat": True, "daughter_cysts": True, "metallic_artifact": True, "max_hu": 3000},
}


def test_an_out_of_vocabulary_looking_case_is_flagged_with_its_reason():
    a = assess(ODD)
    assert a.atypical is True
    assert "outside the list" in a.atypical_reason
    assert "thorotrast" in a.atypical_reason  # names the least expected findings
    out = a.to_dict()
    assert out["atypical"] is True and out["atypical_reason"] == a.atypical_reason


def test_the_typical_seed_cases_are_not_flagged():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        a = assess(yaml.safe_load(path.read_text()))
        assert a.atypical is False, (path.name, a.atypical_reason)
        assert a.atypical_reason


def test_too_few_findings_are_never_flagged():
    a = assess({"finding": {"count": "solitary"}})
    assert a.atypical is False and "Too few" in a.atypical_reason


def test_shipped_threshold_flags_about_its_quantile_of_the_library():
    """Stays calibrated: on the library's in-vocabulary cases the flag rate is the stored quantile
    (within 5 points; rebuild atypical.yaml with recalibrate() when the library has moved on)."""
    net = network()
    cal = calibration()
    index = build_index(net, load_records())
    flags = [judge(net, rows, cal).atypical for rec, rows in zip(index.records, index.rows)
             if rec["diagnosis"]["ids"] and rec["diagnosis"]["ids"][0] in net.ids]
    assert len(flags) >= 50
    assert abs(sum(flags) / len(flags) - cal.quantile) <= 0.05


def test_shipped_threshold_is_the_current_library_s_calibration():
    """atypical.yaml is what recalibrate() gives on today's library and fitted knowledge base: a
    library or a fit that moved on without it fails here, not silently."""
    net = network()
    cal = calibration()
    index = build_index(net, load_records())
    now = calibrate(net, index.records, index.rows, cal.quantile, cal.min_observed)
    assert cal.cases == now.cases, "rebuild atypical.yaml: hepcal.reasoning.atypical.recalibrate()"
    assert abs(cal.threshold - now.threshold) < 1e-3, "rebuild atypical.yaml: hepcal.reasoning.atypical.recalibrate()"


def test_calibration_is_the_quantile_of_in_vocabulary_scores_and_round_trips(tmp_path):
    net = network()
    recs = [
        {"id": "a", "case": {"finding": {"calcification": ["dense_nodular"], "count": "solitary", "lesion": "none", "size_mm": 5}}, "diagnosis": {"ids": ["granuloma"]}},
        {"id": "b", "case": ODD, "diagnosis": {"ids": ["granuloma"]}},
        {"id": "c", "case": ODD, "diagnosis": {"ids": [], "raw": "something else"}},  # not used: outside the vocabulary
    ]
    index = build_index(net, recs)
    cal = calibrate(net, index.records, index.rows, quantile=0.0, min_observed=3)
    assert cal.cases == 2
    assert cal.threshold == min(judge(net, r, Calibration(-1e9, 0, 0, 3)).score for r in index.rows[:2])
    path = write_calibration(cal, net.kb.version, tmp_path / "atypical.yaml")
    stored = yaml.safe_load(path.read_text())
    assert stored["cases"] == 2 and stored["threshold"] == round(cal.threshold, 4)
