"""The patient summary: plain words, readable at grade 8 or below, wording from data only."""

from __future__ import annotations

import pytest
import textstat.backend.counts._count_syllables as textstat_syllables

from hepcal.report.readability import flesch_kincaid_grade, visible_text
from tests.report.conftest import EXAMPLE_IDS

MAX_GRADE = 8.0


def _page(reports) -> str:
    return reports["patient.html"].read_text("utf-8")


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_patient_summary_reads_at_grade_8_or_below(example_reports, name):
    grade = flesch_kincaid_grade(visible_text(_page(example_reports[name])))
    assert 0 < grade <= MAX_GRADE


def test_scan_patient_summary_reads_at_grade_8_or_below(scan_reports):
    assert flesch_kincaid_grade(visible_text(_page(scan_reports))) <= MAX_GRADE


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_patient_summary_explains_the_leading_diagnosis_in_its_own_words(example_reports, kb, name):
    import json

    html = _page(example_reports[name])
    bundle = json.loads(example_reports[name]["fhir.json"].read_text())
    lead = bundle["entry"][0]["resource"]["conclusionCode"][0]["coding"][-1]["code"]
    summary = " ".join(kb.diagnosis(lead).patient_summary.split())
    assert summary.split(".")[0] in visible_text(html)
    for part in ("What was found", "What it most likely means", "What happens next", "Questions you could ask your doctor"):
        assert part in html
    for jargon in ("P(malignant)", "likelihood", "posterior", "LR "):
        assert jargon not in html


def test_patient_summary_names_versions_and_date(example_reports, kb):
    html = _page(example_reports["seed-us-duct-stones"])
    assert "2026-03-14" in html and f"knowledge base {kb.version}" in html


def test_grade_is_textstats_formula_without_a_download(monkeypatch):
    """Same number as textstat's Flesch–Kincaid when textstat uses its offline syllable counter."""
    import textstat

    monkeypatch.setattr(textstat_syllables, "get_cmudict", lambda lang: None)
    text = "The liver has a small bright spot. It is most likely an old scar. Ask your doctor what happens next."
    ours = flesch_kincaid_grade(text)
    theirs = textstat.flesch_kincaid_grade(text)
    assert ours == pytest.approx(theirs, abs=0.05)


def test_visible_text_skips_styles_and_ends_blocks_as_sentences():
    text = visible_text("<style>p{color:red}</style><h2>Next</h2><p>Come back in a year</p><li>Why?</li>")
    assert text == "Next. Come back in a year. Why?"
