"""The PDF, rendered to images and checked the way a reader looks at a page."""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium
import pytest

from tests.report.conftest import EXAMPLE_IDS

SCALE = 1.0  # 72 dpi: 1 px = 1 pt
MM = 72 / 25.4


def _pages(path):
    pdf = pdfium.PdfDocument(str(path))
    out = []
    for page in pdf:
        image = np.asarray(page.render(scale=SCALE, grayscale=True).to_pil().convert("L"))
        text = page.get_textpage().get_text_range()
        out.append((image, text))
    return out


@pytest.fixture(scope="module")
def rendered(example_reports, scan_reports):
    files = {name: r["report.pdf"] for name, r in example_reports.items()} | {"scan": scan_reports["report.pdf"]}
    return {name: _pages(path) for name, path in files.items()}


@pytest.mark.parametrize("name", EXAMPLE_IDS + ["scan"])
def test_pages_are_a4_with_clear_margins(rendered, name):
    for image, _ in rendered[name]:
        h, w = image.shape
        assert (w, h) == pytest.approx((595, 842), abs=2)
        margin = int(12 * MM)  # page margins are 15 mm at the sides, 16 mm at the top
        assert image[:, :margin].min() > 240, "something is drawn into the left margin"
        assert image[:, -margin:].min() > 240, "something runs off the right side"
        assert image[:margin, :].min() > 240, "something is drawn into the top margin"


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_page_one_holds_the_answer(rendered, name):
    image, text = rendered[name][0]
    for words in ("Calcified liver finding", "Decision support, not a diagnosis", "Differential diagnosis", "Findings"):
        assert words in text, words
    assert image.mean() < 250, "page one is nearly empty"


@pytest.mark.parametrize("name", EXAMPLE_IDS + ["scan"])
def test_every_page_has_footer_with_versions_and_page_number(rendered, kb, name):
    pages = rendered[name]
    for i, (_, text) in enumerate(pages, start=1):
        assert f"knowledge base {kb.version}" in text
        assert f"{i} / {len(pages)}" in text


@pytest.mark.parametrize("name", EXAMPLE_IDS)
def test_a_case_fits_a_few_pages_and_none_is_blank(rendered, name):
    pages = rendered[name]
    assert 1 <= len(pages) <= 4
    for image, text in pages:
        assert len(text.split()) > 30


def test_recommendation_and_malignancy_are_in_the_pdf(rendered):
    text = " ".join(t for _, t in rendered["seed-rim-calcified-mass"])
    assert "P(malignant) =" in text and "Recommendation" in text and "Cautions" in text
