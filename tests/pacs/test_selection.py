"""Choosing the series to analyse: the rules of selection.yaml on typical PACS studies."""

import pytest

from hepcal.errors import InputError
from hepcal.pacs.selection import SeriesSummary, choose_series, phase_from_header, summarise


def _s(uid, **kw):
    base = dict(modality="CT", image_type=("ORIGINAL", "PRIMARY", "AXIAL"), instances=200, thickness_mm=2.0, kernel="B30f")
    base.update(kw)
    return SeriesSummary(uid=uid, **base)


def test_unenhanced_series_is_preferred_over_contrast_phases():
    study = [_s("1", description="Arterial 1.0", phase="arterial"), _s("2", description="NC abdomen", phase="unenhanced"), _s("3", description="PV", phase="portal")]
    choice = choose_series(study)
    assert choice.chosen.uid == "2"
    assert any("unenhanced" in r for r in choice.reasons)
    assert set(choice.rejected) == {"1", "3"}


def test_scouts_secondary_captures_and_other_modalities_are_set_aside():
    study = [_s("1", image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"), instances=2), _s("2", modality="SR", instances=1), _s("3", image_type=("DERIVED", "SECONDARY", "MPR")), _s("4")]
    choice = choose_series(study)
    assert choice.chosen.uid == "4"
    assert "LOCALIZER" in choice.rejected["1"] and "modality SR" in choice.rejected["2"] and "DERIVED" in choice.rejected["3"]


def test_soft_tissue_kernel_then_thin_slices():
    same_phase = [_s("bone", kernel="B70f"), _s("soft5", kernel="B30f", thickness_mm=5.0), _s("soft2", kernel="B30f", thickness_mm=2.0)]
    assert choose_series(same_phase).chosen.uid == "soft2"
    ge = [_s("lung", kernel="LUNG"), _s("std", kernel="STANDARD")]
    assert choose_series(ge).chosen.uid == "std"


def test_no_usable_series_is_a_clear_error():
    with pytest.raises(InputError, match="no series of this study can be analysed.*LOCALIZER"):
        choose_series([_s("1", image_type=("ORIGINAL", "LOCALIZER"))])


@pytest.mark.parametrize("text,phase", [("Abd NON-CONTRAST 2mm", "unenhanced"), ("LIVER ART PHASE", "arterial"), ("Portal venous", "portal"),
                                        ("Delayed 3 min", "delayed"), ("Abdomen 2.0 B30f", "unknown")])
def test_phase_from_the_description(text, phase):
    assert phase_from_header(text) == phase


def test_summary_from_dicom_json_as_qido_returns_it():
    rec = {"0020000E": {"vr": "UI", "Value": ["1.2.3"]}, "00080060": {"vr": "CS", "Value": ["CT"]}, "0008103E": {"vr": "LO", "Value": ["PV 2mm"]},
           "00201209": {"vr": "IS", "Value": [150]}, "00200011": {"vr": "IS", "Value": [4]}}
    first = {"00080008": {"vr": "CS", "Value": ["ORIGINAL", "PRIMARY", "AXIAL"]}, "00181210": {"vr": "SH", "Value": ["FC08"]}, "00180050": {"vr": "DS", "Value": [2.0]}}
    s = summarise(rec, first)
    assert (s.uid, s.modality, s.instances, s.number, s.kernel, s.thickness_mm, s.phase) == ("1.2.3", "CT", 150, 4, "FC08", 2.0, "portal")
    assert s.image_type == ("ORIGINAL", "PRIMARY", "AXIAL")
