"""Similar published cases: a documented, deterministic similarity over the encoded keys."""

from __future__ import annotations

import json

import pytest

from hepcal.reasoning import assess, network
from hepcal.reasoning.evidence import observations
from hepcal.findings import parse_case
from hepcal.reasoning.library_index import read_records
from hepcal.reasoning.similar import build_index, similar_cases, similarities

HYDATID_LIKE = {
    "history": {"echinococcus_exposure": True},
    "labs": {"echinococcus_serology_positive": True},
    "finding": {"calcification": ["rim"], "count": "solitary", "lesion": "cystic", "daughter_cysts": True, "size_mm": 80},
}


def _rec(i, case, ids, raw=None):
    return {"id": i, "case": case, "diagnosis": {"ids": ids, "raw": raw}, "source": {"citation": f"cite {i}", "url": f"https://example.org/{i}"}}


def _rows(case):
    net = network()
    return [o.row for o in observations(parse_case(case), net)]


def test_similar_cases_of_a_hydatid_like_case_include_hydatid_cases():
    a = assess(HYDATID_LIKE)
    found = a.to_dict()["similar_cases"]
    assert 1 <= len(found) <= 5
    assert {"id", "diagnosis", "diagnosis_name", "citation", "url", "similarity"} <= set(found[0])
    assert "hydatid_cyst" in [c["diagnosis"] for c in found[:3]]
    sims = [c["similarity"] for c in found]
    assert sims == sorted(sims, reverse=True) and all(0 < s <= 1 for s in sims)


def test_identical_first_unknown_not_penalised_contradiction_penalised():
    net = network()
    q = {"finding": {"calcification": ["rim"], "lesion": "cystic", "count": "solitary"}}
    recs = [
        _rec("same", q, ["hydatid_cyst"]),
        _rec("more", {"finding": {**q["finding"], "size_mm": 50}, "history": {"fever": True}}, ["healed_abscess"]),
        _rec("contra", {"finding": {"calcification": ["rim"], "lesion": "solid", "count": "solitary"}}, ["hematoma"]),
        _rec("other", {"finding": {"calcification": ["punctate"], "lesion": "none", "count": "multiple"}}, [], "something else"),
    ]
    index = build_index(net, recs)
    sim, _ = similarities(index, _rows(q))
    by_id = dict(zip([r["id"] for r in index.records], sim))
    assert by_id["same"] == pytest.approx(1.0) and by_id["more"] == pytest.approx(1.0)  # what the query does not state does not count
    assert 0 < by_id["contra"] < 1.0
    assert by_id["other"] < by_id["contra"]
    names = dict(zip(net.ids, net.names))
    out = similar_cases(index, _rows(q), names)
    assert [c["id"] for c in out[:2]] == ["same", "more"]  # tie: the one stating less beyond the query first
    assert out[0]["diagnosis_name"] == names["hydatid_cyst"] and out[0]["url"] == "https://example.org/same"
    assert similar_cases(index, _rows(q), names) == out  # deterministic
    outside = [c for c in out if c["id"] == "other"]
    assert not outside or outside[0]["diagnosis"] is None and outside[0]["diagnosis_name"] == "something else"


def test_invalid_library_cases_are_skipped_and_named():
    index = build_index(network(), [_rec("bad", {"finding": {"calcification": ["rimm"]}}, ["granuloma"])])
    assert index.skipped == ("bad",) and index.records == ()
    assert similar_cases(index, _rows(HYDATID_LIKE), {}) == []


def test_validation_lines_become_library_records(tmp_path):
    path = tmp_path / "cases.jsonl"
    line = {"id": "x-1", "case": {"finding": {"count": "few"}}, "diagnosis": "granuloma",
            "source": "Author A. Title. J 2020;1:2. doi:10.1000/xyz. https://example.org/x"}
    path.write_text(json.dumps(line) + "\n")
    (rec,) = read_records(validation=[path])
    assert rec["diagnosis"] == {"raw": "granuloma", "ids": ["granuloma"]}
    assert rec["source"]["url"] == "https://example.org/x" and rec["source"]["doi"] == "10.1000/xyz"


def test_a_citation_that_ends_with_its_link_is_shown_without_it():
    """The link is shown beside the citation: a citation written with it would print it twice."""
    from hepcal.reasoning.similar import _shown

    url = "https://example.org/case/7"
    rec = {"id": "x", "diagnosis": {"ids": ["granuloma"], "raw": "granuloma"},
           "source": {"citation": f"Author A. A case. J Test 2020;1:2. {url}", "url": url}}
    assert _shown(rec)[4:] == ("Author A. A case. J Test 2020;1:2.", url)
    other = {**rec, "source": {"citation": "Author A. A case. J Test 2020;1:2.", "url": url}}
    assert _shown(other)[4] == "Author A. A case. J Test 2020;1:2."
    alone = {**rec, "source": {"citation": url, "url": url}}  # nothing but the link: kept
    assert _shown(alone)[4] == url
