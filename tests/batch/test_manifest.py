from __future__ import annotations

import pytest

from hepcal.batch.manifest import read_manifest
from hepcal.errors import InputError
from tests.batch.dicom import write_series


def _write(tmp_path, text: str):
    m = tmp_path / "manifest.csv"
    m.write_text(text)
    return m


def test_rows_become_studies_with_context(tmp_path):
    (tmp_path / "s1.nii.gz").write_bytes(b"1")
    (tmp_path / "m1.nii.gz").write_bytes(b"mask")
    uid = write_series(tmp_path / "dcm")
    m = _write(
        tmp_path,
        "study,mask,mask_label,patient.age_years,history.chronic_liver_disease\n"
        "s1.nii.gz,m1.nii.gz,1,64,true\n"
        "dcm,,,,\n",
    )
    first, second = read_manifest(m)
    assert first.problem is None and first.row == 2
    assert first.mask == str(tmp_path / "m1.nii.gz") and first.mask_label == 1
    assert first.overrides == ("patient.age_years=64", "history.chronic_liver_disease=true")
    assert first.key.startswith(first.study_key + "~")
    assert second.key == f"uid-{uid}" and second.series_uid == uid and second.overrides == ()


def test_unknown_column_is_a_usage_error_naming_it_and_the_allowed_ones(tmp_path):
    m = _write(tmp_path, "study,patient.agee\nx.nii.gz,3\n")
    with pytest.raises(InputError, match=r"'patient.agee'.*allowed: study, mask, mask_label, .*patient.age_years"):
        read_manifest(m)


@pytest.mark.parametrize(
    "header",
    ["mask,patient.sex\n", "", "study,study\n"],
    ids=["no-study-column", "empty", "duplicate"],
)
def test_bad_header_is_a_usage_error(tmp_path, header):
    with pytest.raises(InputError):
        read_manifest(_write(tmp_path, header + "a,b\n"))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("s.nii.gz,,,maybe", "history.fever"),
        ("s.nii.gz,,,,alien", "patient.sex"),
        ("missing.nii.gz,,,,", "no such file"),
        ("s.nii.gz,nomask.nii.gz,,,", "mask nomask.nii.gz"),
        ("s.nii.gz,,0,,", "mask_label"),
        (",,,,", "empty"),
        ("s.nii.gz,,,,,extra", "more cells"),
    ],
)
def test_bad_value_fails_only_its_row(tmp_path, row, message):
    (tmp_path / "s.nii.gz").write_bytes(b"x")
    m = _write(tmp_path, "study,mask,mask_label,history.fever,patient.sex\n" + row + "\ns.nii.gz,,,true,female\n")
    bad, good = read_manifest(m)
    assert bad.problem is not None and message in bad.problem
    assert good.problem is None


def test_missing_manifest_is_a_usage_error(tmp_path):
    with pytest.raises(InputError, match="no such manifest"):
        read_manifest(tmp_path / "nope.csv")
