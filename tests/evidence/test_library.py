"""The case library: every shipped file validates, and bad records are reported precisely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hepcal.evidence import EvidenceError, load_cases, load_holdout, load_series
from hepcal.evidence.library import library_files
from tests.conftest import ROOT, shared_path
from tests.evidence.handmade import SERIES


def record(**over) -> dict:
    rec = {
        "id": "hydatid-2016-test",
        "source": {"citation": "Author A. A hydatid cyst. J Test 2016;1:1-2.", "url": "https://example.org/a"},
        "kind": "case_report",
        "case": {"finding": {"calcification": ["rim"], "lesion": "cystic"}},
        "diagnosis": {"raw": "hydatid cyst", "ids": ["hydatid_cyst"], "malignant": False, "proof": "histology"},
        "encoded": {"by": "test", "at": "2026-12-06"},
    }
    rec.update(over)
    return rec


def write_lib(tmp: Path, cases: list[dict] | None = None, holdout: list[dict] | None = None, series: str | None = None) -> Path:
    for folder, rows in (("cases", cases), ("holdout", holdout)):
        if rows is not None:
            (tmp / folder).mkdir(parents=True, exist_ok=True)
            (tmp / folder / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if series is not None:
        (tmp / "series").mkdir(parents=True, exist_ok=True)
        (tmp / "series" / "s.yaml").write_text(series)
    return tmp


def test_every_shipped_library_file_validates():
    cases = load_cases(include_holdout=True)
    series = load_series()
    assert len(cases) >= 71  # the validation set joined the library
    assert all(c.case is not None for c in cases)
    assert len({c.id for c in cases}) == len(cases)
    assert all(s.k <= s.n for s in series)


def test_no_library_source_is_reserved():
    tool = shared_path("tools", "reserved-sources")
    files = [str(p) for p in library_files(include_holdout=True)]
    run = subprocess.run([str(tool), "--files", *files], capture_output=True, text=True)
    assert run.returncode == 0, f"reserved sources in the case library:\n{run.stdout}{run.stderr}"


def test_validation_set_and_its_library_copy_agree():
    run = subprocess.run([sys.executable, str(ROOT / "validation" / "to_library.py"), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def test_a_good_hand_made_library_loads(tmp_path):
    oov = record(id="oov-2020-x", diagnosis={"raw": "hepatic pentastomiasis", "ids": [], "malignant": False, "proof": "histology"})
    root = write_lib(tmp_path, [record(), oov], [record(id="late-2026-y")])
    dev = load_cases(root=root)
    assert [c.id for c in dev] == ["hydatid-2016-test", "oov-2020-x"]
    assert dev[0].ids == ("hydatid_cyst",) and not dev[1].in_vocabulary
    assert dev[0].case.finding.calcification == ["rim"]
    assert [c.id for c in load_holdout(root=root)] == ["late-2026-y"]
    assert {c.id for c in load_cases(include_holdout=True, root=root)} == {"hydatid-2016-test", "oov-2020-x", "late-2026-y"}


@pytest.mark.parametrize("bad, words", [
    (record(case={"finding": {"calcification": ["ringlike"]}}), ["cases/t.jsonl:2", "case.finding.calcification", "ringlike"]),
    (record(case={"finding": {"colour": "red"}}), ["cases/t.jsonl:2", "finding.colour", "unknown key"]),
    (record(diagnosis={"raw": "xx", "ids": ["not_a_dx"], "malignant": False, "proof": "histology"}), ["cases/t.jsonl:2", "not_a_dx", "allowed"]),
    (record(diagnosis={"raw": "xx", "ids": ["granuloma"], "malignant": False, "proof": "guess"}), ["cases/t.jsonl:2", "diagnosis.proof"]),
    (record(source={"citation": "Author A. Title. J 2020;1:1."}), ["cases/t.jsonl:2", "source", "url or doi"]),
    (record(), ["cases/t.jsonl:2", "already used at cases/t.jsonl:1"]),
    (record(encoded={"by": "a", "at": "2026-12-06", "revised": {"by": "b", "at": "2026-12-07"}}),
     ["cases/t.jsonl:2", "encoded.revised.from", "Field required"]),
    (record(encoded={"by": "a", "at": "2026-12-06", "revised": {"by": "b", "at": "yesterday", "from": "full text"}}),
     ["cases/t.jsonl:2", "encoded.revised.at"]),
    (record(encoded={"by": "a", "at": "2026-12-06", "revised": {"by": "b", "at": "2026-12-07", "from": "full text", "why": "x"}}),
     ["cases/t.jsonl:2", "encoded.revised.why", "Extra inputs"]),
])
def test_bad_records_name_file_line_and_key(tmp_path, bad, words):
    root = write_lib(tmp_path, [record(), bad])
    with pytest.raises(EvidenceError) as exc:
        load_cases(root=root)
    for w in words:
        assert w in str(exc.value)


def test_a_revised_record_keeps_who_revised_it_and_from_what(tmp_path):
    rev = {"by": "encoder-b", "at": "2026-12-07T10:00:00Z", "from": "full text"}
    root = write_lib(tmp_path, [record(encoded={"by": "encoder-a", "at": "2026-12-06", "revised": rev}), record(id="plain-2020-x")])
    revised, plain = load_cases(root=root)
    assert revised.record.encoded.revised is not None
    assert (revised.record.encoded.revised.by, revised.record.encoded.revised.from_) == ("encoder-b", "full text")
    assert plain.record.encoded.revised is None
    assert revised.record.model_dump(mode="json")["encoded"]["revised"] == rev  # dumped with the file's key names


def test_broken_json_line_is_reported_with_its_number(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "t.jsonl").write_text(json.dumps(record()) + "\n{not json\n")
    with pytest.raises(EvidenceError, match=r"cases/t.jsonl:2: not valid JSON"):
        load_cases(root=tmp_path)




def test_series_counts_load_with_boolean_state(tmp_path):
    s = load_series(root=write_lib(tmp_path, series=SERIES))
    assert len(s) == 2 and s[0].state == "true" and (s[0].k, s[0].n) == (12, 40) and s[1].state == "cystic"


def test_a_count_entered_twice_from_one_source_is_refused(tmp_path):
    again = SERIES.split("- id: hyd-lesion-series")[0].replace("id: hyd-rim-series", "id: hyd-rim-again")
    with pytest.raises(EvidenceError) as exc:
        load_series(root=write_lib(tmp_path, series=SERIES + again))
    assert "hyd-rim-again" in str(exc.value) and "already entered" in str(exc.value)


@pytest.mark.parametrize("old, new, words", [
    ("k: 12", "k: 41", ["item 1", "larger than n"]),
    ("finding.calcification.rim", "finding.calcification.ringlike", ["not an evidence variable"]),
    ("state: true", "state: huge", ["state 'huge'", "allowed: true, false"]),
    ("diagnosis: hydatid_cyst", "diagnosis: worm", ["'worm' not in the contract"]),
])
def test_bad_series_counts_are_refused(tmp_path, old, new, words):
    with pytest.raises(EvidenceError) as exc:
        load_series(root=write_lib(tmp_path, series=SERIES.replace(old, new)))
    for w in words:
        assert w in str(exc.value)
