"""Key images render, and the calcium outline is drawn where the lesion is."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np

from hepcal.imaging.detection import detect_calcifications, phase_threshold
from hepcal.imaging.characterisation import characterise
from hepcal.imaging.keyimages import OUTLINE_RGB, render_lesion, render_overview


def test_lesion_key_image_has_the_outline_near_the_lesion(tmp_path, lesion_phantom):
    v, liver = lesion_phantom.volume, lesion_phantom.liver
    lesions = characterise(v, liver, detect_calcifications(v, liver, threshold=phase_threshold("unenhanced")))
    rim = next(les for les in lesions if les.pattern == "rim")
    path = render_lesion(v, rim, tmp_path / "lesion.png", liver=liver)
    img = mpimg.imread(path)[..., :3]
    assert img.shape[:2] == (600, 600)
    outline = np.all(np.abs(img - np.array(OUTLINE_RGB)) < 0.25, axis=-1)
    assert outline.sum() > 50
    rows, cols = np.nonzero(outline)
    # the lesion is in the middle of the zoomed view (±45 mm); its 30 mm rim stays inside the centre half
    assert 150 < rows.mean() < 450 and 150 < cols.mean() < 450
    ov = render_overview(v, liver, lesions, tmp_path / "overview.png")
    assert mpimg.imread(ov).shape[0] > 100
