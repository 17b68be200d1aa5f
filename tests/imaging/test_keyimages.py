"""Key images render, the calcium outline is drawn where the lesion is, and captions stay off the anatomy."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest
from pydicom.dataset import Dataset

from hepcal.imaging.characterisation import characterise
from hepcal.imaging.detection import detect_calcifications, phase_threshold
from hepcal.imaging.keyimages import BAND_IN, OUTLINE_RGB, render_lesion, render_liver_outline, render_overview, slice_position
from hepcal.imaging.volume import Volume

DPI = 120


@pytest.fixture(scope="module")
def rim_lesion(lesion_phantom):
    v, liver = lesion_phantom.volume, lesion_phantom.liver
    lesions = characterise(v, liver, detect_calcifications(v, liver, threshold=phase_threshold("unenhanced")))
    return next(les for les in lesions if les.pattern == "rim"), lesions


def test_lesion_key_image_has_the_outline_near_the_lesion(tmp_path, lesion_phantom, rim_lesion):
    v, liver = lesion_phantom.volume, lesion_phantom.liver
    rim, lesions = rim_lesion
    img = mpimg.imread(render_lesion(v, rim, tmp_path / "lesion.png", liver=liver))[..., :3]
    band = int(BAND_IN * DPI)
    assert img.shape[:2] == (600 + band, 600)
    outline = np.all(np.abs(img - np.array(OUTLINE_RGB)) < 0.25, axis=-1)
    assert outline.sum() > 50
    rows, cols = np.nonzero(outline)
    # the lesion is in the middle of the zoomed view (±45 mm); its 30 mm rim stays inside the centre half
    assert 150 < rows.mean() < 450 and 150 < cols.mean() < 450
    ov = render_overview(v, liver, lesions, tmp_path / "overview.png")
    assert mpimg.imread(ov).shape[0] > 100


def test_caption_is_on_a_band_below_the_image_not_on_the_anatomy(tmp_path, lesion_phantom, rim_lesion):
    """The image area holds only CT grey and outlines; the caption's white text is on the band."""
    v, liver = lesion_phantom.volume, lesion_phantom.liver
    img = mpimg.imread(render_lesion(v, rim_lesion[0], tmp_path / "lesion.png", liver=liver))[..., :3]
    image, band = img[:600], img[600:]
    coloured = (image.max(axis=-1) - image.min(axis=-1)) > 0.3  # outlines (green, blue); yellow caption text would count
    assert not np.any(np.all(np.abs(image - np.array([1.0, 1.0, 0.0])) < 0.2, axis=-1)), "no yellow caption text on the image"
    assert coloured.sum() < 0.05 * coloured.size
    assert np.median(band) < 0.2 and band.max() > 0.9  # dark band with white text


def test_slice_position_is_z_in_patient_mm_with_the_dicom_instance_number():
    # (plane, row, column) → LPS: plane p lies at z = -300 + 2.5 p
    affine = np.array([[0, 0, 1.0, -100], [0, 1.0, 0, -50], [2.5, 0, 0, -300], [0, 0, 0, 1]])
    headers = []
    for k in range(4):
        h = Dataset()
        h.ImagePositionPatient = [-100.0, -50.0, -300.0 + 2.5 * k]
        h.InstanceNumber = 40 - k  # numbered head to feet
        headers.append(h)
    v = Volume(np.zeros((4, 8, 8), np.int16), affine, {"dicom_headers": tuple(headers)})
    assert slice_position(v, 2) == "axial z = -295.0 mm (instance 38)"
    assert slice_position(Volume(np.zeros((4, 8, 8), np.int16), affine), 1) == "axial z = -297.5 mm"


def test_liver_outline_image_draws_the_liver_and_states_volume(tmp_path, lesion_phantom):
    v, liver = lesion_phantom.volume, lesion_phantom.liver
    img = mpimg.imread(render_liver_outline(v, liver, tmp_path / "liver.png"))[..., :3]
    blue = np.all(np.abs(img - np.array([0.2, 0.6, 1.0])) < 0.2, axis=-1)
    assert blue.sum() > 100
    band = int(BAND_IN * DPI)
    assert not blue[-band:].any()  # the outline is on the image, the band holds only the caption
