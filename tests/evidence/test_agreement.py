"""Agreement between two encodings: kappa per key, not-stated as a category, sets and bins."""

from __future__ import annotations

import json
import math

import pytest

from hepcal.evidence.agreement import (
    NOT_STATED,
    AgreementError,
    agreement,
    case_keys,
    cohen_kappa,
    knowledge_bins,
    main,
)

SIZE_BINS = {"finding.size_mm": [("under_10", 0.0), ("10_to_29", 10.0), ("30_to_49", 30.0), ("50_plus", 50.0)]}


def rec(rid: str, finding: dict | None = None, history: dict | None = None, ids=("hydatid_cyst",), malignant=False, **extra) -> dict:
    case: dict = {}
    if finding is not None:
        case["finding"] = finding
    if history is not None:
        case["history"] = history
    return {"id": rid, "case": case, "diagnosis": {"ids": list(ids), "malignant": malignant}, **extra}


def test_kappa_of_textbook_table():
    # 2x2 table [[20, 5], [10, 15]]: p_o = 0.7, p_e = 0.5 -> kappa = 0.4
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_kappa_is_undefined_when_both_raters_use_one_label():
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None


def test_perfect_agreement_gives_kappa_one():
    first = [
        rec("c1", {"calcification": ["rim", "septal"], "size_mm": 42}, {"fever": True}),
        rec("c2", {"calcification": ["punctate"], "size_mm": 8}, {"fever": False}, ids=("granuloma",)),
        rec("c3", {"lesion": "solid"}, ids=("hepatocellular_carcinoma",), malignant=True),
    ]
    # same readings, list order swapped: lists compare as sets
    second = [
        rec("c3", {"lesion": "solid"}, ids=("hepatocellular_carcinoma",), malignant=True),
        rec("c1", {"calcification": ["septal", "rim"], "size_mm": 42}, {"fever": True}),
        rec("c2", {"calcification": ["punctate"], "size_mm": 8}, {"fever": False}, ids=("granuloma",)),
    ]
    result = agreement(first, second, SIZE_BINS)
    assert result["pairs"] == ["c1", "c2", "c3"]
    for key in ("finding.calcification", "finding.size_mm", "history.fever", "diagnosis.ids[0]", "diagnosis.malignant"):
        assert result["keys"][key]["kappa"] == pytest.approx(1.0), key
        assert result["keys"][key]["agreement"] == 1.0
    assert result["overall"]["kappa_weighted"] == pytest.approx(1.0)
    assert result["overall"]["identical_share"] == 1.0


def test_systematic_disagreement_gives_kappa_at_most_zero():
    first = [rec(f"c{i}", history={"fever": True}) for i in range(4)] + [rec(f"d{i}", history={"fever": False}) for i in range(4)]
    second = [rec(f"c{i}", history={"fever": False}) for i in range(4)] + [rec(f"d{i}", history={"fever": True}) for i in range(4)]
    k = agreement(first, second)["keys"]["history.fever"]
    assert k["kappa"] <= 0
    assert k["kappa"] == pytest.approx(-1.0)
    assert k["identical"] == 0 and len(k["disagreements"]) == 8


def test_unstated_versus_stated_is_counted_as_disagreement():
    first = [rec("c1", {"calcified": True}), rec("c2", {"calcified": True}), rec("c3", {})]
    second = [rec("c1", {"calcified": True}), rec("c2", {}), rec("c3", {})]
    k = agreement(first, second)["keys"]["finding.calcified"]
    assert k["n"] == 2  # c3: neither states it, so it is not a stated comparison
    assert k["identical"] == 1
    assert k["disagreements"] == [{"id": "c2", "first": "true", "second": NOT_STATED}]
    assert k["agreement"] == pytest.approx(2 / 3)  # over all pairs, both-unstated counts as agreement
    # labels: first [T, T, NS], second [T, NS, NS] -> p_o 2/3, p_e = 2/3*1/3 + 1/3*2/3 = 4/9
    assert k["kappa"] == pytest.approx((2 / 3 - 4 / 9) / (1 - 4 / 9))


def test_numbers_compare_by_bin_when_binned_and_exactly_otherwise():
    first = [rec("c1", {"size_mm": 31, "max_hu": 400}), rec("c2", {"size_mm": 5, "max_hu": 900})]
    second = [rec("c1", {"size_mm": 45, "max_hu": 410}), rec("c2", {"size_mm": 9.5, "max_hu": 900.0})]
    keys = agreement(first, second, SIZE_BINS)["keys"]
    assert keys["finding.size_mm"]["identical"] == 2  # 31 and 45 share a bin, so do 5 and 9.5
    assert keys["finding.max_hu"]["identical"] == 1  # not binned here: 400 != 410, 900 == 900.0


def test_empty_diagnosis_ids_is_a_stated_category():
    first = [rec("c1", ids=()), rec("c2", ids=("hematoma", "hemangioma"))]
    second = [rec("c1", ids=("hemangioma",)), rec("c2", ids=("hematoma",))]
    k = agreement(first, second)["keys"]["diagnosis.ids[0]"]
    assert k["identical"] == 1
    assert k["disagreements"][0]["id"] == "c1"


def test_unpaired_and_unavailable_records():
    first = [rec("c1", {"count": "solitary"}), rec("only-a", {"count": "few"})]
    second = [rec("c1", {"count": "few"}, unavailable=True), rec("only-b", {"count": "few"})]
    result = agreement(first, second)
    assert result["only_first"] == ["only-a"] and result["only_second"] == ["only-b"]
    assert result["pairs"] == ["c1"]
    assert agreement(first, second, skip_unavailable=True)["pairs"] == []


def test_repeated_id_is_refused():
    with pytest.raises(AgreementError, match="appears twice"):
        agreement([rec("c1"), rec("c1")], [rec("c1")])


def test_case_keys_flattens_every_section():
    keys = case_keys({"id": "x", "case": {"patient": {"age_years": 3}, "labs": {"afp_ng_ml": 5720.45}},
                      "diagnosis": {"ids": ["hepatoblastoma"], "malignant": True}},
                     {"patient.age_years": [("under_1", 0.0), ("1_to_4", 1.0)]})
    assert keys == {"patient.age_years": "1_to_4", "labs.afp_ng_ml": "5720.45",
                    "diagnosis.ids[0]": "hepatoblastoma", "diagnosis.malignant": "true"}


def test_bins_come_from_the_knowledge_base():
    bins = knowledge_bins()
    assert "finding.size_mm" in bins and "patient.age_years" in bins
    assert all(isinstance(lower, float) for _, lower in bins["finding.size_mm"])


def test_cli_prints_json_and_refuses_bad_input(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(rec("c1", {"calcified": True})) + "\n")
    b.write_text(json.dumps(rec("c1", {"calcified": True})) + "\n")
    assert main(["--first", str(a), "--second", str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pairs"] == ["c1"] and math.isclose(out["overall"]["identical_share"], 1.0)

    b.write_text("{not json\n")
    assert main(["--first", str(a), "--second", str(b)]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["--first", str(tmp_path / "missing.jsonl"), "--second", str(a)]) == 2
    assert "not found" in capsys.readouterr().err


def test_older_validation_format_is_compared_on_the_keys_it_can_hold():
    old = {"id": "c1", "case": {"finding": {"count": "solitary"}}, "diagnosis": "hydatid_cyst"}
    new = rec("c1", {"count": "solitary", "calcified": True}, ids=("hydatid_cyst",))
    keys = agreement([old], [new])["keys"]
    assert keys["diagnosis.ids[0]"]["identical"] == 1
    assert keys["finding.count"]["identical"] == 1
    assert "finding.calcified" not in keys and "diagnosis.malignant" not in keys
