from __future__ import annotations

import pytest

from hepcal.batch.discover import discover
from hepcal.errors import InputError
from tests.batch.dicom import write_series


def test_finds_nifti_zip_and_dicom_series_recursively(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.nii.gz").write_bytes(b"1")
    (tmp_path / "two.nii").write_bytes(b"2")
    (tmp_path / "three.zip").write_bytes(b"3")
    uid = write_series(tmp_path / "p1" / "ct")
    (tmp_path / "README.txt").write_text("notes")
    found = discover(tmp_path)
    by_source = {s.source: s for s in found.studies}
    assert set(by_source) == {"a/one.nii.gz", "two.nii", "three.zip", "p1/ct"}
    assert by_source["p1/ct"].key == f"uid-{uid}" and by_source["p1/ct"].series_uid == uid
    assert by_source["a/one.nii.gz"].key.startswith("sha256-")
    assert by_source["three.zip"].kind == "zip"
    assert found.ignored == ["README.txt: not NIfTI, .zip or DICOM"]


def test_dicom_grouped_by_series_uid_not_by_folder(tmp_path):
    uid_a = write_series(tmp_path / "mixed", slices=2)
    uid_b = write_series(tmp_path / "mixed", slices=2, modality="MR")
    # one series split over two folders is still one study
    uid_c = write_series(tmp_path / "split" / "x", slices=2)
    write_series(tmp_path / "split" / "y", slices=2, uid=uid_c)
    found = discover(tmp_path)
    keys = sorted(s.key for s in found.studies)
    assert keys == sorted(f"uid-{u}" for u in (uid_a, uid_b, uid_c))
    split = next(s for s in found.studies if s.series_uid == uid_c)
    assert split.source == "split"
    mixed = [s for s in found.studies if s.path.endswith("mixed")]
    assert all("#" in s.source for s in mixed)  # two series in one folder are told apart


def test_broken_dcm_is_a_failed_study_and_out_folder_is_skipped(tmp_path):
    (tmp_path / "empty.dcm").write_bytes(b"")
    out = tmp_path / "results"
    out.mkdir()
    (out / "old.nii.gz").write_bytes(b"x")
    found = discover(tmp_path, exclude=out)
    assert [s.source for s in found.studies] == ["empty.dcm"]
    assert "not a readable DICOM file" in found.studies[0].problem


def test_identical_files_share_a_key(tmp_path):
    (tmp_path / "a.nii.gz").write_bytes(b"same")
    (tmp_path / "b.nii.gz").write_bytes(b"same")
    a, b = discover(tmp_path).studies
    assert a.key == b.key


@pytest.mark.parametrize("make", ["missing", "file"])
def test_not_a_folder_is_a_usage_error(tmp_path, make):
    target = tmp_path / "x.nii.gz"
    if make == "file":
        target.write_bytes(b"x")
    with pytest.raises(InputError, match="folder"):
        discover(target)


def test_a_liver_mask_beside_a_nifti_study_is_its_mask_not_a_study(tmp_path):
    (tmp_path / "p.nii.gz").write_bytes(b"ct")
    (tmp_path / "p_liver.nii.gz").write_bytes(b"mask")
    (tmp_path / "lonely_liver.nii.gz").write_bytes(b"no study beside it")
    found = discover(tmp_path)
    by_source = {s.source: s for s in found.studies}
    assert set(by_source) == {"p.nii.gz", "lonely_liver.nii.gz"}
    study = by_source["p.nii.gz"]
    assert study.mask is not None and study.mask.endswith("p_liver.nii.gz")
    assert study.key != study.study_key  # a changed mask re-runs the study
    assert "p_liver.nii.gz: liver mask of the study beside it" in found.ignored
