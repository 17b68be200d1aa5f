"""The patient summary: plain words, readable at grade 8 or below, wording from data only."""

from __future__ import annotations

import pytest

from hepcal.report.readability import chinese_measures, flesch_kincaid_grade, sentence_count, visible_text, words
from tests.report.conftest import EXAMPLE_IDS

MAX_GRADE = 8.0
# Chinese: no grade formula; the stated limits (docs/reports.md)
MAX_ZH_SENTENCE = 25.0
MIN_ZH_COMMON = 0.90


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


def test_grade_is_the_flesch_kincaid_formula_on_counted_words_sentences_and_syllables():
    text = "The liver has a small bright spot. It is most likely an old scar. Ask your doctor what happens next."
    assert words(text)[:3] == ["The", "liver", "has"] and len(words(text)) == 20 and sentence_count(text) == 3
    # 24 syllables by hand (liver, likely, doctor, happens have two), as pyphen counts them
    assert flesch_kincaid_grade(text) == pytest.approx(0.39 * 20 / 3 + 11.8 * 24 / 20 - 15.59, abs=0.01)
    hard = "Echinococcal serological investigations substantiate parasitological aetiology considerations."
    assert flesch_kincaid_grade(hard) > 20


def test_readability_needs_no_textstat():
    import hepcal.report.readability as r

    assert "textstat" not in open(r.__file__, encoding="utf-8").read().split('"""', 2)[2]


def test_visible_text_skips_styles_and_ends_blocks_as_sentences():
    text = visible_text("<style>p{color:red}</style><h2>Next</h2><p>Come back in a year</p><li>Why?</li>")
    assert text == "Next. Come back in a year. Why?"


@pytest.fixture(scope="module")
def zh_pages(kb, tmp_path_factory):
    """The Chinese patient page of every example, and of a scan without lesions."""
    from hepcal.report.context import patient_context
    from hepcal.report.html import render_patient
    from hepcal.report.source import load_source
    from tests.report.conftest import EXAMPLE_FILES, NOW

    return {p.stem: render_patient(patient_context(load_source(p, kb), kb, lang="zh", now=NOW)) for p in EXAMPLE_FILES}


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_chinese_patient_summary_meets_the_stated_limits(zh_pages, name):
    m = chinese_measures(visible_text(zh_pages[name], end="。"))
    assert m["han_characters"] > 100
    assert m["mean_sentence_length"] <= MAX_ZH_SENTENCE, m
    assert m["common_share"] >= MIN_ZH_COMMON, m


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_chinese_patient_summary_is_chinese_throughout(zh_pages, kb, name):
    import re

    html = zh_pages[name]
    assert '<html lang="zh">' in html and "接下来做什么" in html
    from hepcal.reasoning.network import network

    text = visible_text(html).replace(network(kb).version, "")  # the version names its fit in hex
    # no English sentence left (the program's name, versions and "UTC" are the only Latin words)
    latin = set(re.findall(r"[A-Za-z]{3,}", text)) - {"hepcal", "UTC", "AFP"}
    assert not latin, latin


def test_every_diagnosis_has_a_chinese_patient_summary(kb):
    from hepcal.report.messages import messages

    zh = messages("zh")["diagnoses"]
    assert sorted(set(kb.ids) - set(zh)) == []
    for did, entry in zh.items():
        m = chinese_measures(entry["summary"])
        assert m["mean_sentence_length"] <= MAX_ZH_SENTENCE and m["common_share"] >= MIN_ZH_COMMON, did


def test_chinese_measures_count_sentences_and_common_characters():
    m = chinese_measures("这是正常的结果。电脑只查找钙化的小点！")
    assert m["sentences"] == 2 and m["mean_sentence_length"] == pytest.approx((7 + 10) / 2)
    assert m["common_share"] == 1.0
    assert chinese_measures("瘀")["common_share"] == 0.0  # a level-2 character


SHAPES = {
    # a large solid mass is a lump, not a "small spot", and its size is said in centimetres
    "mass": ({"finding": {"calcification": ["central_scar"], "lesion": "solid", "size_mm": 110, "count": "solitary"}},
             "Your scan showed a lump in the liver, about 11 cm across.", "small spot"),
    "cyst": ({"finding": {"calcification": ["rim"], "lesion": "cystic", "size_mm": 64}},
             "a lump filled with fluid (a cyst) in the liver, about 6 cm across.", "small spot"),
    # gas is not calcium: the page must not say it is
    "gas": ({"finding": {"calcified": False, "location": "central", "count": "innumerable"}},
            "What the scan showed is not calcium.", "made of calcium"),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_what_was_found_says_spot_lump_or_cyst_and_whether_it_is_calcium(kb, name):
    from hepcal.report.context import patient_context
    from hepcal.report.html import render_patient
    from hepcal.report.source import from_case
    from tests.report.conftest import NOW

    case, said, not_said = SHAPES[name]
    source = from_case(case, kb)
    text = visible_text(render_patient(patient_context(source, kb, now=NOW)))
    assert said in text and not_said not in text
    assert flesch_kincaid_grade(text) <= MAX_GRADE
    zh = visible_text(render_patient(patient_context(source, kb, lang="zh", now=NOW)), end="。")
    m = chinese_measures(zh)
    assert m["mean_sentence_length"] <= MAX_ZH_SENTENCE and m["common_share"] >= MIN_ZH_COMMON, m


def test_a_scan_with_a_calcified_mass_among_its_lesions_does_not_call_them_all_small_spots(kb):
    from dataclasses import replace

    from hepcal.report.context import patient_context
    from hepcal.report.html import render_patient
    from hepcal.report.source import from_case
    from tests.report.conftest import NOW

    spot = from_case({"finding": {"calcification": ["punctate"], "lesion": "none", "size_mm": 4}}, kb).lesions[0]
    mass = from_case({"finding": {"calcification": ["coarse"], "lesion": "solid", "size_mm": 60}}, kb).lesions[0]
    spots = replace(from_case({"finding": {"calcified": True}}, kb), kind="scan", lesions=(spot, replace(spot, number=2)))
    mixed = replace(spots, lesions=(spot, replace(mass, number=2)))
    said = {name: visible_text(render_patient(patient_context(src, kb, now=NOW))) for name, src in (("spots", spots), ("mixed", mixed))}
    assert "Your scan showed 2 small spots in the liver." in said["spots"]
    assert "Your scan showed 2 spots or lumps with calcium in the liver." in said["mixed"] and "small spots" not in said["mixed"]
