"""Browser flows with Playwright driving Debian's chromium against a live server.

Each flow keeps a full-page screenshot in ``artifacts/web/`` (kept by CI as test artefacts).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "web"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uvicorn = pytest.importorskip("uvicorn")
    from hepcal.web.app import create_app
    from hepcal.web.settings import Settings, allowed_hosts_for

    data = tmp_path_factory.mktemp("web")
    app = create_app(Settings(database_url=f"sqlite:///{data / 'cases.sqlite3'}", data_dir=data,
                              allowed_hosts=allowed_hosts_for("127.0.0.1")))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (install Debian's chromium package: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=server)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def _choose(page, group: str, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("group", name=group, exact=False).get_by_text(text, exact=True).click()


def _enter_seed_rim_case(page) -> None:  # type: ignore[no-untyped-def]
    """examples/seed-rim-calcified-mass.yaml, entered the way a reader would."""
    import yaml

    case = yaml.safe_load((EXAMPLES / "seed-rim-calcified-mass.yaml").read_text())
    assert case == {"history": {"incidental": True}, "finding": {"modality": ["ct"], "calcification": ["rim"], "count": "solitary"}}
    page.goto("/assess")
    _choose(page, "Calcification pattern(s)", "rim")
    _choose(page, "Seen on", "ct")
    page.get_by_label("Number", exact=True).select_option("solitary")
    # Wait for the assessment of the complete case: until then the result shown is of a
    # partial case (the page debounces changes), and a test reading it would be racing.
    with page.expect_response(lambda r: r.url.endswith("/assess/result") and "incidental" in (r.request.post_data or "")):
        _choose(page, "Found incidentally, no liver symptom", "yes")
    from playwright.sync_api import expect

    expect(page.locator("#status")).to_contain_text("Updated:")


def test_seed_rim_case_shows_differential_recommendation_and_caution(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _enter_seed_rim_case(page)
    ddx = page.locator("#result .ddx")
    expect(ddx.locator(".dx").first).to_contain_text("haematoma")
    expect(ddx).to_contain_text("Hydatid cyst")
    expect(page.locator("#result .action-name")).to_have_text("laboratory tests")
    expect(page.locator("#result .cautions")).to_contain_text("hydatid")
    expect(page.locator("#result .malignancy meter")).to_have_count(1)
    assert page.locator("#result .dx meter").count() == 10
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "assess-rim")
    # Keyboard: a tri-state choice can be reached and changed without a mouse.
    page.locator('input[name="history.fever"][value=""]').focus()
    page.keyboard.press("ArrowRight")
    assert page.locator('input[name="history.fever"][value="true"]').is_checked()
    # Save it and find it in the case list.
    page.get_by_label("Label (for finding").fill("rim <seed> case")
    page.get_by_role("button", name="Save case").click()
    page.wait_for_url("**/cases/*")
    expect(page.locator("h1")).to_contain_text("rim <seed> case")
    expect(page.locator(".results .ddx")).to_contain_text("Hydatid cyst")
    _shot(page, "case")
    page.goto("/cases?q=seed")
    expect(page.locator(".case-list .case-item")).to_have_count(1)
    _shot(page, "cases")


def test_following_a_next_finding_suggestion(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    _enter_seed_rim_case(page)
    first = page.locator("#result .next-item").first
    expect(first).to_be_visible()
    key = first.get_attribute("data-key")
    before = page.locator("#result .ddx").inner_text()
    button = first.locator("button.outcome").first
    value = button.get_attribute("data-value")
    button.click()
    field = page.locator(f'#checklist [data-key="{key}"]')
    if field.get_attribute("data-type") == "bool":
        expect(page.locator(f'input[name="{key}"][value="{value}"]')).to_be_checked()
    else:
        expect(page.locator(f'select[name="{key}"]')).to_have_value(value)
    # The finding is now entered: it leaves the suggestions and the differential changes.
    expect(page.locator(f'#result .next-item[data-key="{key}"]')).to_have_count(0)
    assert page.locator("#result .ddx").inner_text() != before
    _shot(page, "assess-next-finding")


def test_phantom_ct_upload_and_open_a_lesion(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from hepcal.web.scans import imaging_available

    if not imaging_available():
        pytest.skip("hepcal.imaging.pipeline is not installed in this build")
    from hepcal.cli.main import app as cli
    from typer.testing import CliRunner

    # 2 mm voxels: a realistic-looking key image, analysed in seconds (built-in liver, auto phase).
    study = tmp_path / "phantom.nii.gz"
    result = CliRunner().invoke(cli, ["phantom", "--pattern", "rim", "--spacing", "2", "--out", str(study)])
    assert result.exit_code == 0, result.output
    page.goto("/ct")
    _shot(page, "ct-upload")
    page.set_input_files("#study", str(study))
    page.get_by_label("Label (optional").fill("rim phantom, 2 mm")
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url("**/ct/*")
    expect(page.locator("h1")).to_have_text("rim phantom, 2 mm")
    expect(page.locator(".meta")).to_contain_text("File phantom.nii.gz")
    expect(page.locator("#job-status")).to_have_text(re.compile("^(done|failed)$"), timeout=120_000)
    failure = page.locator("#job .problems")
    assert page.locator("#job-status").inner_text() == "done", failure.inner_text() if failure.count() else ""
    expect(page.locator(".study")).to_contain_text("unenhanced")
    assert page.locator(".study img.overview").evaluate("img => img.naturalWidth") > 0
    lesions = page.locator(".lesion")
    expect(lesions).to_have_count(1)
    expect(lesions.first).to_contain_text("rim")
    expect(lesions.first).to_contain_text("Leading:")
    expect(lesions.first.locator("img")).to_have_count(1)
    assert lesions.first.locator("img").evaluate("img => img.naturalWidth") > 0
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "ct-job")
    job_url = page.url
    page.goto("/ct")
    expect(page.locator(".job-item").first.locator(".item-title")).to_have_text("rim phantom, 2 mm")
    expect(page.locator(".job-item").first).to_contain_text("phantom.nii.gz")
    page.goto(job_url)
    lesions.first.get_by_role("link", name="Open lesion 1 in the assess page").click()
    page.wait_for_url("**/assess?scan=*")
    banner = page.locator(".banner")
    expect(banner).to_contain_text("Findings extracted from CT")
    assert banner.locator("img").evaluate("img => img.naturalWidth") > 0
    expect(page.locator('input[name="finding.calcification"][value="rim"]')).to_be_checked()
    expect(page.locator("#result .ddx .dx").first).to_be_visible()
    _shot(page, "assess-from-ct")
