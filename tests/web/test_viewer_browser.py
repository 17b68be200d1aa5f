"""The study viewer in a real browser: NiiVue (WebGL 2 on chromium's software renderer) showing a
scanned phantom at desktop and phone widths. Skipped when chromium, the imaging extra or the
viewer module (``make install`` fetches it with npm) is absent.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.web.test_browser import CHROMIUM, server  # noqa: F401 - the live server of the browser tests

pytestmark = pytest.mark.browser

# WebGL 2 without a GPU: chromium's SwiftShader through ANGLE.
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "web"
SIZES = {"desktop": {"width": 1440, "height": 1000}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def served_job(server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(server address, id of a finished scan job of a 2 mm rim phantom)."""
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("hepcal.imaging.pipeline")
    from typer.testing import CliRunner

    from hepcal.cli.main import app as cli
    from hepcal.web import viewer

    if not viewer.viewer_installed():
        pytest.skip("the viewer module is not installed (make install fetches NiiVue from npm)")
    study = tmp_path_factory.mktemp("viewer") / "rim.nii.gz"
    made = CliRunner().invoke(cli, ["phantom", "--pattern", "rim", "--spacing", "2", "--out", str(study)])
    assert made.exit_code == 0, made.output
    files = {"study": study.read_bytes(), "liver_mask": (study.parent / "rim_liver.nii.gz").read_bytes()}
    job_id = httpx.post(server + "/api/scans", files=files, headers={"X-CSRF-Token": "1"}).json()["id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = httpx.get(f"{server}/api/scans/{job_id}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert job["status"] == "done", job
    return server, job_id


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium with WebGL 2 (the shared browser fixture disables the GPU, which NiiVue needs)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (install Debian's chromium package: apt-get install chromium)")
    with pytest.importorskip("playwright.sync_api").sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, served_job, size: str):  # type: ignore[no-untyped-def]
    base, job_id = served_job
    context = browser.new_context(viewport=SIZES[size], base_url=base)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors, f"/ct/{job_id}/viewer"


def _pixels(page):  # type: ignore[no-untyped-def]
    """The canvas as an (H, W, 3) array, from a screenshot of the element (what the user sees)."""
    import numpy as np
    from PIL import Image

    page.wait_for_timeout(150)  # one animation frame after the last change
    png = page.locator("#viewer-canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _red(img) -> int:  # type: ignore[no-untyped-def]
    """Pixels of the calcium overlay (red) and the outline (yellow): absent from a grey CT."""
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return int(((r > 180) & (b < 140) & (r - b > 80)).sum())


@pytest.mark.parametrize("size", list(SIZES))
def test_viewer_shows_the_study_jumps_to_lesions_and_changes_windows(browser, served_job, size: str) -> None:  # type: ignore[no-untyped-def]
    context, page, errors, url = _open(browser, served_job, size)
    try:
        page.goto(url)
        page.wait_for_selector("#viewer[data-ready]", timeout=60000)
        box = page.locator("#viewer")
        assert box.get_attribute("data-ready") == "yes", page.inner_text("#viewer-status")
        lesion = page.locator("button.lesion-jump").first
        target = int(lesion.get_attribute("data-plane"))
        # opened at the first lesion: the CT is drawn (many grey levels) with its calcium overlaid
        assert box.get_attribute("data-plane") == str(target)
        shown = _pixels(page)
        assert shown.std() > 20 and len({tuple(p) for p in shown.reshape(-1, 3)[::37]}) > 50
        assert _red(shown) > 30
        assert page.inner_text("#viewer-slice") == f"Axial plane {target + 1} of {box.get_attribute('data-planes')}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"viewer-{size}.png"), full_page=True)

        # move 25 planes (50 mm) down, away from the lesion: no overlay there; the lesion button comes back
        for _ in range(25):
            page.click("button[data-step='-1']")
        assert box.get_attribute("data-plane") == str(target - 25)
        away = _pixels(page)
        assert _red(away) == 0 and (away != shown).any()
        lesion.click()
        assert box.get_attribute("data-plane") == str(target)
        back = _pixels(page)
        assert _red(back) > 30

        # the window buttons change the rendering: bone window darkens soft tissue, liver window brightens it
        page.click("#overlay-toggle")  # overlay off, so only the CT's grey levels are compared
        means = {}
        for label in ("Abdomen", "Liver", "Bone"):
            page.click(f"button.window:has-text('{label}')")
            assert box.get_attribute("data-window") == label
            img = _pixels(page)
            body = img.sum(axis=2) > 30  # not the black background
            means[label] = img[body].mean()
        assert means["Bone"] < means["Abdomen"] - 20 < means["Liver"] - 40, means
        page.click("button.window:has-text('Abdomen')")
        page.click("#overlay-toggle")

        # zoom: the body fills more of the canvas
        before = (_pixels(page).sum(axis=2) > 30).mean()
        page.click("button[data-zoom='1.25']")
        page.click("button[data-zoom='1.25']")
        after = (_pixels(page).sum(axis=2) > 30).mean()
        assert after > before * 1.2, (before, after)
        assert not errors, errors
    finally:
        context.close()


def test_without_the_viewer_module_the_page_says_so(browser, served_job) -> None:  # type: ignore[no-untyped-def]
    context, page, errors, url = _open(browser, served_job, "desktop")
    try:
        page.route("**/static/vendor/niivue/niivue.js", lambda route: route.fulfill(status=404, body="not found"))
        page.goto(url)
        page.wait_for_selector("#viewer[data-ready]", timeout=30000)
        assert page.locator("#viewer").get_attribute("data-ready") == "missing"
        status = page.inner_text("#viewer-status")
        assert "could not be loaded" in status and "make install" in status
        assert page.locator("button.lesion-jump").count() == 1  # the lesion list stays
    finally:
        context.close()
