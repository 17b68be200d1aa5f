"""Fields the assessment may carry (plan, intervals, atypical, similar cases) reach every report."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from hepcal.report.context import patient_context, report_context
from hepcal.report.html import render_patient, render_report
from hepcal.report.readability import visible_text
from hepcal.report.source import from_case
from tests.report.conftest import NOW
from tests.report.extras import ATYPICAL_REASON, PLAN, with_extras


def without_extras(a: dict) -> dict:
    """An assessment as an earlier engine wrote it: no plan, intervals, atypical flag or similar cases."""
    out = {k: v for k, v in a.items() if k not in ("malignancy_interval", "atypical", "atypical_reason", "similar_cases")}
    out["recommendation"] = {k: v for k, v in a["recommendation"].items() if k != "plan"}
    out["differential"] = [{k: v for k, v in e.items() if k != "probability_interval"} for e in a["differential"]]
    return out


@pytest.fixture(scope="module")
def sources(kb, rim_case):
    found = from_case(rim_case, kb)
    plain = replace(found, lesions=(replace(found.lesions[0], assessment=without_extras(found.lesions[0].assessment)),))
    extra = replace(found, lesions=(replace(found.lesions[0], assessment=with_extras(found.lesions[0].assessment)),))
    return plain, extra


@pytest.fixture(scope="module")
def rim_case():
    from tests.conftest import EXAMPLES
    import yaml

    return yaml.safe_load((EXAMPLES / "seed-rim-calcified-mass.yaml").read_text())


def test_report_shows_the_plan_in_order_with_reason_and_condition(sources, kb):
    html = render_report(report_context(sources[1], kb, now=NOW))
    plan = re.search(r'<ol class="plan">(.*?)</ol>', html, re.S).group(1)
    first, second = plan.index("Laboratory tests"), plan.index("Biopsy")
    assert first < second
    assert PLAN[0]["reason"] in plan and "Then: if negative, biopsy" in plan


def test_report_without_a_plan_shows_the_action_alone(sources, kb):
    html = render_report(report_context(sources[0], kb, now=NOW))
    assert 'class="plan"' not in html and '<div class="action">' in html


def test_intervals_atypical_and_similar_cases_in_the_report(sources, kb):
    a = sources[1].lesions[0].assessment
    html = render_report(report_context(sources[1], kb, now=NOW))
    low, high = a["malignancy_interval"]
    assert f"90% interval {low:.1%}–{high:.1%}" in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert svg.count('class="interval"') == 8  # one whisker per listed diagnosis
    lead = a["differential"][0]
    assert f"{lead['probability_interval'][0]:.0%}–{lead['probability_interval'][1]:.0%}" in html
    assert ATYPICAL_REASON in html and "consider a diagnosis outside this list" in html
    assert "Hydatid cyst (similarity 81%)" in html and "<em>Journal</em>" in html
    assert "are not a second differential" in html  # the caveat above the similar cases
    assert 'href="https://doi.org/10.1000/example"' in html and 'href="javascript' not in html
    assert "Assessment contract version 2." in html


def test_absent_fields_leave_no_trace(sources, kb):
    html = render_report(report_context(sources[0], kb, now=NOW))
    for text in ("Atypical case", "90% interval", "Published cases", 'class="interval"'):
        assert text not in html


def test_patient_page_has_the_plan_cautions_and_atypical_notice_in_plain_words(sources, kb):
    text = visible_text(render_patient(patient_context(sources[1], kb, now=NOW)))
    assert text.index("You may need a blood test") < text.index("Then, if the result calls for it: Your doctor may want to take")
    assert "No needle should be put into it" in text  # hydatid cyst is in the caution set
    assert "does not look like the usual causes" in text
    for jargon in ("serology", "similarity", "interval", "atypical"):
        assert jargon not in text.lower()


def test_normal_scan_patient_page_is_worded_for_no_calcification(normal_scan):
    text = visible_text((normal_scan / "patient.html").read_text("utf-8"))
    assert "did not show any spot of calcium" in text and "This is a normal result" in text
    assert "the spot" not in text.lower() and "cancer" not in text.lower()
    assert "Did the scan show anything else?" in text


def test_normal_scan_report_has_liver_volume_outline_image_and_phase_caution(normal_scan):
    import json

    findings = json.loads((normal_scan / "findings.json").read_text())
    html = (normal_scan / "report.html").read_text("utf-8")
    assert f"Liver volume (as outlined): {findings['liver']['volume_ml']:.0f} ml" in html
    assert "No calcification was found in the liver" in html
    assert "Contrast phase: portal" in html  # the real series is portal-venous
    assert html.count('src="data:image/png;base64,') == 2  # axial liver outline + coronal overview
    assert "Liver outline (check the segmentation)" in html
    pdf_text = _pdf_text(normal_scan / "report.pdf")
    for text in ("Liver volume", "Contrast phase: portal", "No calcification was found"):
        assert text in pdf_text


def _pdf_text(path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in pdf)


def test_patient_pages_with_plan_and_cautions_stay_readable_in_both_languages(sources, kb):
    from hepcal.report.readability import chinese_measures, flesch_kincaid_grade

    en = visible_text(render_patient(patient_context(sources[1], kb, now=NOW)))
    assert flesch_kincaid_grade(en) <= 8.0
    zh_html = render_patient(patient_context(sources[1], kb, lang="zh", now=NOW))
    m = chinese_measures(visible_text(zh_html, end="。"))
    assert m["mean_sentence_length"] <= 25 and m["common_share"] >= 0.90
    assert "可能需要验血" in zh_html and "不要用针穿刺它" in zh_html and "医生可能还会考虑别的原因" in zh_html


def test_normal_scan_in_chinese(normal_scan, kb, tmp_path):
    from typer.testing import CliRunner

    from hepcal.cli.main import app
    from hepcal.report.readability import chinese_measures

    r = CliRunner().invoke(app, ["report", str(normal_scan / "findings.json"), "--out", str(tmp_path), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "patient.html").read_text("utf-8")
    assert "扫描没有在肝脏里看到钙化的小点" in html and "这是正常的结果" in html
    m = chinese_measures(visible_text(html, end="。"))
    assert m["mean_sentence_length"] <= 25 and m["common_share"] >= 0.90
    assert 'lang="en"' in (tmp_path / "report.html").read_text("utf-8")  # the radiologist report stays English


def test_web_assessment_partial_shows_the_same_fields(sources):
    """The web app's server-rendered assessment (display only) shows plan, intervals, notice, cases."""
    pytest.importorskip("fastapi")
    from hepcal.web.templating import environment

    template = environment().get_template("_assessment.html")
    html = template.render(assessment=sources[1].lesions[0].assessment, interactive=False)
    plan = html[html.index('<ol class="plan"'):]
    assert plan.index("laboratory tests") < plan.index("biopsy") and "then: if negative, biopsy" in html
    assert "90% range" in html and "consider a diagnosis outside this list" in html
    assert "similarity 81%" in html and "javascript:" not in html
    plain = template.render(assessment=sources[0].lesions[0].assessment, interactive=False)
    assert "Atypical" not in plain and 'class="plan"' not in plain and "90% range" not in plain


def test_fhir_conclusion_names_the_plan_and_the_atypical_notice(sources):
    from hepcal.report import fhir

    bundle = fhir.bundle(sources[1], now=NOW)
    conclusion = bundle["entry"][0]["resource"]["conclusion"]
    assert "Laboratory tests → Biopsy" in conclusion and "consider a diagnosis outside this list" in conclusion
    plain = fhir.bundle(sources[0], now=NOW)["entry"][0]["resource"]["conclusion"]
    assert "outside this list" not in plain


def test_report_percentages_are_never_rounded_to_certainty():
    from hepcal.report.context import Words
    from hepcal.report.messages import messages

    w = Words(messages("en"))
    assert w.percent(0.9996) == ">99.9%" and w.percent(0.0003) == "<0.1%" and w.percent(1.0) == "100%"
    assert w.percent(0.996) == "99.6%" and w.percent(0.5) == "50%"
