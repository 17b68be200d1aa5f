"""The radiologist report's content, reproducibility and escaping."""

from __future__ import annotations

import re

import pytest
import yaml

from hepcal import __version__
from hepcal.report.context import report_context, settings
from hepcal.report.html import render_patient, render_report
from hepcal.report.context import patient_context
from hepcal.report.source import from_case
from tests.conftest import EXAMPLES
from tests.report.conftest import EXAMPLE_IDS, NOW

EVIL = "<script>alert('x')</script>"


def _html(example_reports, name: str) -> str:
    return example_reports[name]["report.html"].read_text("utf-8")


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_report_states_versions_date_and_decision_support(example_reports, kb, name):
    html = _html(example_reports, name)
    assert f"hepcal {__version__}" in html
    assert f"knowledge base {kb.version}" in html
    assert "2026-03-14 09:26 UTC" in html
    assert "Decision support, not a diagnosis" in html


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_report_has_every_section(example_reports, name):
    html = _html(example_reports, name)
    for heading in ("Findings", "Differential diagnosis", "Probability of malignancy", "Recommendation",
                    "Why the leading diagnoses rank where they do", "References for the leading diagnoses"):
        assert f">{heading}<" in html, heading


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_chart_has_one_bar_per_listed_diagnosis_in_proportion(kb, name):
    src = from_case(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()), kb, name=name)
    html = render_report(report_context(src, kb, now=NOW))
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    diff = src.lesions[0].assessment["differential"]
    rows = settings()["differential_rows"]
    bars = [float(w) for w in re.findall(r'<rect x="300" y="[\d.]+" width="([\d.]+)" height="13" fill="#(?!f1f3f5)', svg)]
    assert len(bars) == rows + (1 if len(diff) > rows else 0)
    expected = [max(e["probability"] * 212, 0.8) for e in diff[:rows]]
    assert bars[:rows] == pytest.approx(expected, abs=0.06)
    assert diff[0]["name"] in svg


def test_leading_diagnoses_are_argued_and_their_references_listed(kb, example_reports):
    html = _html(example_reports, "seed-rim-calcified-mass")
    src = from_case(yaml.safe_load((EXAMPLES / "seed-rim-calcified-mass.yaml").read_text()), kb)
    top = src.lesions[0].assessment["differential"][0]
    assert html.count(">For<") == settings()["argued_diagnoses"]
    assert "Calcification pattern(s): rim" in html  # the engine's label, in words
    for key in kb.diagnosis(top["id"]).references:
        if key in kb.references:
            assert f"[{key};" in html


def test_same_inputs_same_report(kb):
    src = from_case({"finding": {"calcification": ["rim"]}}, kb)
    assert render_report(report_context(src, kb, now=NOW)) == render_report(report_context(src, kb, now=NOW))


def _poison(ctx):
    """Put a script into every kind of text the report shows."""
    L = ctx["lesions"][0]
    L["findings"][0]["items"][0]["value"] = EVIL
    L["differential"]["rows"][0]["name"] = EVIL
    L["recommendation"]["reasons"].append(EVIL)
    L["recommendation"]["cautions"].append(EVIL)
    L["basis"][0]["for"].append({"finding": EVIL, "lr": EVIL})
    L["key_image"] = {"src": None, "caption": EVIL}
    L["measurements"].append(EVIL)
    ctx["source_line"] = EVIL
    ctx["references"].append({"key": EVIL, "citation": f"*{EVIL}*", "url": None, "cited_by": [EVIL]})
    return ctx


def test_every_text_is_escaped(kb):
    src = from_case({"finding": {"calcification": ["rim"], "size_mm": 20}}, kb)
    html = render_report(_poison(report_context(src, kb, now=NOW)))
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") >= 10


def test_patient_page_is_escaped(kb):
    src = from_case({"finding": {"calcification": ["rim"]}}, kb)
    ctx = patient_context(src, kb, now=NOW)
    ctx["meaning"] = [{"name": EVIL, "summary": EVIL}]
    ctx["single"] = False
    ctx["found"] = [EVIL]
    html = render_patient(ctx)
    assert "<script>" not in html and html.count("&lt;script&gt;") == 3


def test_scan_report_lists_every_lesion_with_measurements_and_key_images(scan_reports):
    html = scan_reports["report.html"].read_text("utf-8")
    assert "Summary of the scan" in html
    assert "Lesion 1 of 2" in html and "Lesion 2 of 2" in html
    assert "Volume:" in html and "Maximum attenuation:" in html
    assert html.count('src="data:image/png;base64,') == 2


def test_chart_never_cuts_a_diagnosis_name(kb):
    """A long name is drawn whole, squeezed to the space before the bars (not cut with an ellipsis)."""
    src = from_case(yaml.safe_load((EXAMPLES / "seed-rim-calcified-mass.yaml").read_text()), kb)
    html = render_report(report_context(src, kb, now=NOW))
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    for e in src.lesions[0].assessment["differential"][: settings()["differential_rows"]]:
        assert f">{e['name']}</text>" in svg.replace("&#39;", "'")
    assert "…" not in svg and 'lengthAdjust="spacingAndGlyphs"' in svg  # the mucinous cystic neoplasm's long name
