"""The pages' reading aids through the test client: sections, inline field errors, the live
result fragment, readable names, times with their zone, job labels, the patient page, /api/docs."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from hepcal.findings import contract
from hepcal.web.checklist import COMMON, checklist
from tests.web.conftest import csrf_of, nifti_bytes


def test_common_keys_come_first_and_every_key_is_placed_once() -> None:
    sections = checklist()
    first = [w.name for w in sections[0].widgets]
    assert first == ["finding.modality", "finding.calcification", "finding.count", "finding.size_mm", "finding.lesion"]
    assert sections[1].name == "context" and any(w.name.startswith("history.") for w in sections[1].widgets)
    names = [w.name for s in sections for w in s.widgets]
    assert sorted(names) == sorted(contract().fields) and len(names) == len(set(names))
    assert [s.open for s in sections] == [True] * len(COMMON) + [False] * (len(sections) - len(COMMON))


def test_a_collapsed_section_opens_when_it_holds_a_value() -> None:
    sections = {s.name: s for s in checklist({"finding": {"margin": "well_defined"}})}
    assert sections["finding-more"].open and sections["finding-more"].entered == 1
    assert not sections["labs-more"].open


def test_assess_page_has_collapsible_sections(client: TestClient) -> None:
    html = client.get("/assess").text
    assert re.search(r'<details class="section" id="s-finding" data-common="true"\s+open>', html)
    assert re.search(r'<details class="section" id="s-finding-more" data-common="false"\s*>', html)
    assert html.index('id="s-finding"') < html.index('id="s-context"') < html.index('id="s-finding-more"')


def test_live_result_is_the_pages_own_rendering(client: TestClient, rim_case: dict) -> None:
    r = client.post("/assess/result", json=rim_case)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    expected = client.post("/api/assess", json=rim_case).json()
    top = expected["differential"][0]["name"]
    assert 'data-part="glance"' in r.text and 'data-part="result"' in r.text
    glance = r.text.split('data-part="result"')[0]
    assert top in glance and "P(malignant)" in glance
    assert r.text.count('class="dx"') == min(10, len(expected["differential"]))


def test_live_result_refusal_names_each_field(client: TestClient, rim_case: dict) -> None:
    bad = {**rim_case, "patient": {"age_years": 200}}
    r = client.post("/assess/result", json=bad)
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert [p["path"] for p in problems] == ["patient.age_years"]
    assert "120" in problems[0]["message"]


def test_no_script_path_marks_the_field_and_keeps_what_was_typed(client: TestClient) -> None:
    token = csrf_of(client)
    form = {"csrf_token": token, "finding.calcification": "rim", "finding.count": "solitary",
            "patient.age_years": "200", "finding.size_mm": "big"}
    r = client.post("/assess", data=form)
    assert r.status_code == 422
    html = r.text
    for dom_id, typed in (("f-patient-age_years", "200"), ("f-finding-size_mm", "big")):
        block = html[html.index(f'id="{dom_id}"'):]
        block = block[:block.index("</div>")]
        assert "invalid" in html[html.rindex("<div", 0, html.index(f'id="{dom_id}"')):html.index(f'id="{dom_id}"')]
        assert f'value="{typed}"' in block and 'aria-invalid="true"' in block
        error = re.search(rf'<p class="field-error" id="{dom_id}-error">([^<]+)</p>', html)
        assert error and error.group(1).strip()
    # The rest of what was entered is still ticked.
    assert re.search(r'value="rim"\s+checked', html)


def test_cases_list_shows_names_and_times_with_zone(client: TestClient, rim_case: dict) -> None:
    saved = client.post("/api/cases", json={"case": rim_case, "label": ""}).json()
    labelled = client.post("/api/cases", json={"case": rim_case, "label": "rim follow-up"}).json()
    html = client.get("/cases").text
    top = saved["assessment"]["differential"][0]["name"]
    titles = re.findall(r'<a class="item-title" href="/cases/(\d+)">([^<]+)</a>', html)
    assert (str(saved["id"]), top) in titles and (str(labelled["id"]), "rim follow-up") in titles
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>", html)
    assert re.search(r'<time datetime="[^"]+\+00:00">', html)
    case_html = client.get(f"/cases/{saved['id']}").text
    assert f"<h1>{top} " in case_html and "UTC</time>" in case_html


def test_scan_job_keeps_the_file_name_and_label(client: TestClient) -> None:
    token = csrf_of(client)
    r = client.post("/ct", data={"csrf_token": token, "label": "left lobe follow-up"},
                    files={"study": ("C:\\scans\\abdomen 2026.nii", nifti_bytes(), "application/octet-stream")},
                    follow_redirects=False)
    assert r.status_code == 303
    job_id = r.headers["location"].rsplit("/", 1)[1]
    api = client.get(f"/api/scans/{job_id}").json()
    assert api["file_name"] == "abdomen 2026.nii" and api["label"] == "left lobe follow-up"
    listing = client.get("/ct").text
    assert f'<a class="item-title" href="/ct/{job_id}">left lobe follow-up</a>' in listing
    assert "abdomen 2026.nii" in listing and "UTC</time>" in listing
    deadline = time.monotonic() + 20
    while client.get(f"/api/scans/{job_id}").json()["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    job_html = client.get(f"/ct/{job_id}").text
    assert "<h1>left lobe follow-up</h1>" in job_html and "abdomen 2026.nii" in job_html
    assess = client.get(f"/assess?scan={job_id}&lesion=0").text
    assert f'CT scan <a href="/ct/{job_id}">left lobe follow-up</a>, lesion 1' in assess


def test_api_scan_upload_takes_a_label(client: TestClient) -> None:
    r = client.post("/api/scans", data={"label": "api label"}, files={"study": ("s.nii", nifti_bytes())},
                    headers={"X-CSRF-Token": "1"})
    assert r.status_code == 202
    body = client.get(r.headers["location"]).json()
    assert body["label"] == "api label" and body["file_name"] == "s.nii"
    too_long = client.post("/api/scans", data={"label": "x" * 501}, files={"study": ("s.nii", nifti_bytes())},
                           headers={"X-CSRF-Token": "1"})
    assert too_long.status_code == 422


def test_patient_summary_page_of_a_case(client: TestClient, rim_case: dict) -> None:
    pytest.importorskip("hepcal.report.context")
    from hepcal.knowledge import load
    from hepcal.report.context import patient_context
    from hepcal.report.html import render_patient
    from hepcal.web.reports import _source
    from hepcal.web.store import CaseRecord

    saved = client.post("/api/cases", json={"case": rim_case}).json()
    assert f'href="/cases/{saved["id"]}/patient"' in client.get(f"/cases/{saved['id']}").text
    r = client.get(f"/cases/{saved['id']}/patient")
    assert r.status_code == 200
    # The reports' own page, made from the stored assessment (only the generation date may differ).
    rec = CaseRecord(id=saved["id"], assessment=saved["assessment"], case=saved["case"])
    expected = render_patient(patient_context(_source(rec), load()))
    strip = re.compile(r"\d{1,2} \w+ \d{4}|\d{4}-\d\d-\d\d")
    assert strip.sub("", r.text) == strip.sub("", expected)
    # Its inline style is allowed by hash, and nothing else is loosened.
    csp = r.headers["content-security-policy"]
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/=]+'", csp) and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert client.get(f"/cases/{saved['id']}/patient?lang=xx").status_code == 422
    assert client.get("/cases/999999/patient").status_code == 404


def test_api_docs_are_served_without_another_site(client: TestClient) -> None:
    html = client.get("/api/docs").text
    assert not re.search(r"(src|href)=\"https?://", html) and "/openapi.json" in html


def test_glance_shows_the_plan_in_order(client: TestClient, rim_case: dict) -> None:
    """When the recommendation is an ordered plan, the glance names its first step and what follows."""
    from hepcal.web.present import action_words
    from hepcal.web.templating import environment

    a = client.post("/api/assess", json=rim_case).json()
    actions = [x for x in action_words() if x != a["recommendation"]["action"]][:2]
    steps = [{"step": 3, "action": actions[1], "text": "", "reason": "", "then": None},
             {"step": 1, "action": a["recommendation"]["action"], "text": "", "reason": "", "then": "if negative"},
             {"step": 2, "action": actions[0], "text": "", "reason": "", "then": "if a mass"}]
    a["recommendation"]["plan"] = steps
    html = environment().get_template("_summary.html").render(assessment=a)
    words = action_words()
    line = re.search(r'<span class="glance-then">([^<]+)</span>', html)
    assert line and line.group(1) == f"then {words[actions[0]]}, then {words[actions[1]]}"
    a["recommendation"].pop("plan")
    assert "glance-then" not in environment().get_template("_summary.html").render(assessment=a)
