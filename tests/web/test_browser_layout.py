"""The pages on a phone (390 px) and at a reading station (1440 px), in Debian's chromium.

What a reader needs stays in view (the result at a glance), nothing scrolls sideways or inside
a box of its own, a refused field is marked where it is while the last result stays, and axe-core
(from the npm registry, installed by ``make axe``) finds no serious or critical violation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.web.test_browser import _enter_seed_rim_case, _shot, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
STATION = {"width": 1440, "height": 900}
AXE = Path(os.environ.get("HEPCAL_AXE", ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"))
DOCS_IMAGES = ROOT / "docs" / "images"

# Boxes that scroll by themselves (a nested scroll box) and the page's sideways overflow.
SCROLL_BOXES = """() => Array.from(document.querySelectorAll('body *')).filter(e => {
  const s = getComputedStyle(e);
  return /(auto|scroll)/.test(s.overflowY + s.overflowX) && (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1);
}).map(e => e.tagName + '#' + e.id + '.' + e.className)"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(params=[PHONE, STATION], ids=["390px", "1440px"])
def screen(request, browser, server) -> Iterator[object]:  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(viewport=request.param, base_url=server)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # A refused case is a 422 by design (the page marks the field); any other console error counts.
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None)
    pg.width = request.param["width"]
    yield pg
    context.close()
    assert not errors, f"errors on the page: {errors}"


def _expected(page) -> dict:  # type: ignore[no-untyped-def]
    """The API's assessment of the case on the page (what the page must agree with)."""
    import yaml

    from tests.conftest import EXAMPLES

    case = yaml.safe_load((EXAMPLES / "seed-rim-calcified-mass.yaml").read_text())
    r = page.request.post("/api/assess", data=case)
    assert r.ok
    return r.json()


def _in_view(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= -1 and box["y"] + box["height"] <= page.viewport_size["height"] + 1


def _axe(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Serious and critical axe-core violations of the page as shown (the script is evaluated, not injected: the CSP stays)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_result_at_a_glance_stays_in_view_while_the_checklist_is_read(screen) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from hepcal.web.present import action_words, percent

    page = screen
    _enter_seed_rim_case(page)
    glance = page.locator("#glance")
    a = _expected(page)
    for item, entry in zip(glance.locator(".glance-ddx li").all(), a["differential"][:3], strict=True):
        assert item.inner_text().split() == f"{entry['name']} {percent(entry['probability'])}".split()
    expect(glance.locator(".glance-mal")).to_have_text(percent(a["malignancy_probability"]))
    action = a["recommendation"]["action"]
    expect(glance.locator(".glance-action")).to_have_text(action_words().get(action, action.replace("_", " ")))
    assert page.evaluate(SIDEWAYS) <= 0, "the page scrolls sideways"
    assert page.evaluate(SCROLL_BOXES) == [], "a box scrolls by itself"
    # Down at the end of the checklist the glance is still on screen.
    page.locator("#save-button").scroll_into_view_if_needed()
    assert _in_view(page, "#glance") and _in_view(page, "#save-button")
    # The full differential is near: one link away, and at most a few screens down.
    ddx_top = page.evaluate("() => document.querySelector('#result .ddx').getBoundingClientRect().top + scrollY")
    assert ddx_top < 4000, ddx_top
    glance.get_by_role("link", name="Full differential").click()
    expect(page.locator("#result .ddx")).to_be_visible()
    if page.width >= 1000:  # reading station: the result beside the checklist, not under it
        form, results = page.locator("#checklist").bounding_box(), page.locator("#results").bounding_box()
        assert results["x"] >= form["x"] + form["width"] and abs(results["y"] - form["y"]) < 40
    page.evaluate("window.scrollTo(0, 0)")
    path = _shot(page, f"assess-{page.width}")
    name = {390: "web-phone.png", 1440: "web-assess.png"}[page.width]
    if os.environ.get("HEPCAL_DOCS_IMAGES"):  # re-render the documentation's images
        page.screenshot(path=str(DOCS_IMAGES / name))
    assert path.exists()


def test_common_findings_open_and_the_rest_collapsed(screen) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = screen
    page.goto("/assess")
    assert page.locator("details.section[data-common=true][open]").count() == 2
    assert page.locator("details.section[data-common=false][open]").count() == 0
    first = page.locator("details.section").first.locator("[data-key]").evaluate_all("els => els.map(e => e.dataset.key)")
    assert first == ["finding.modality", "finding.calcification", "finding.count", "finding.size_mm", "finding.lesion"]
    more = page.locator("#s-finding-more")
    more.locator("summary").click()
    expect(more).to_have_attribute("open", "")
    more.get_by_label("Margin").select_option(index=1)
    expect(more.locator(".entered")).to_have_text("1 entered")


def test_refused_field_is_marked_where_it_is_and_the_last_result_stays(screen) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = screen
    _enter_seed_rim_case(page)
    before = page.locator("#result").inner_text()
    age = page.get_by_label("Age (years)")
    age.fill("200")
    field = page.locator("#f-patient-age_years")
    expect(field).to_have_class("field invalid")
    error = page.locator("#f-patient-age_years-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("120")
    expect(age).to_have_attribute("aria-invalid", "true")
    expect(age).to_have_attribute("aria-describedby", "f-patient-age_years-error")
    expect(page.locator("#status")).to_contain_text("Not updated")
    assert page.locator("#result").inner_text() == before  # the last valid result is still shown
    assert _expected(page)["differential"][0]["name"] in before
    expect(page.locator("#result")).to_have_class("result stale")
    assert page.locator("#result .problems, #result [role=alert]").count() == 0
    _shot(page, f"assess-invalid-{page.width}")
    age.fill("45")
    expect(page.locator("#status")).to_contain_text("Updated:")
    expect(field).to_have_class("field")
    expect(error).to_be_hidden()


def test_case_list_names_the_case_and_opens_the_patient_summary(screen) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = screen
    _enter_seed_rim_case(page)
    top = _expected(page)["differential"][0]["name"]
    page.get_by_role("button", name="Save case").click()
    page.wait_for_url("**/cases/*")
    case_url = page.url
    page.goto("/cases")
    item = page.locator(".case-item").first
    expect(item.locator(".item-title")).to_have_text(top)  # a name, not a number
    expect(item.locator("time")).to_contain_text("UTC")
    assert page.evaluate(SIDEWAYS) <= 0, "the case list scrolls sideways"
    _shot(page, f"cases-{page.width}")
    page.goto(case_url)
    assert page.evaluate(SIDEWAYS) <= 0, "the case page scrolls sideways"
    if AXE.is_file():
        assert _axe(page) == []
    if not page.locator(".patient-link").count():
        pytest.skip("hepcal.report is not installed: no patient summary")
    csp_blocked: list[str] = []
    page.on("console", lambda m: csp_blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.locator(".patient-link").first.click()
    page.wait_for_url("**/patient*")
    expect(page.locator("h1")).to_be_visible()
    assert csp_blocked == []
    # The page's own style applies (its inline style is allowed by hash).
    assert page.evaluate("() => getComputedStyle(document.querySelector('main')).maxWidth") != "none"
    assert page.evaluate(SIDEWAYS) <= 0
    if AXE.is_file():
        assert _axe(page) == []
    _shot(page, f"patient-{page.width}")


def test_api_docs_load_from_the_app_itself(screen, server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """/api/docs is a page of the app's own (the operations and /openapi.json), no other site."""
    page = screen
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((server, "data:")) else None)
    page.goto("/api/docs")
    assert "/api/cases" in page.content()
    assert elsewhere == []


@pytest.mark.parametrize("path", ["/assess", "/cases", "/ct", "/login"])
def test_no_serious_accessibility_violation(screen, path: str) -> None:  # type: ignore[no-untyped-def]
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE}): run make axe")
    page = screen
    if path == "/assess":
        _enter_seed_rim_case(page)
        page.get_by_label("Age (years)").fill("200")  # the refused-field state is checked too
        from playwright.sync_api import expect

        expect(page.locator("#status")).to_contain_text("Not updated")
    else:
        page.goto(path)
    assert _axe(page) == []
