from __future__ import annotations

import gzip
import stat
import zipfile
from pathlib import Path

import pytest

from hepcal.errors import InputError
from hepcal.web.uploads import ZipLimits, extract_zip, safe_member_path, sniff
from tests.web.conftest import nifti_bytes


def _zip(path: Path, entries: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_sniff_recognises_nifti_gzip_nifti_and_zip(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(nifti_bytes())
    (tmp_path / "b").write_bytes(gzip.compress(nifti_bytes()))
    _zip(tmp_path / "c", {"IM1.dcm": b"x"})
    assert [sniff(tmp_path / n) for n in "abc"] == ["nifti", "nifti_gz", "zip"]


@pytest.mark.parametrize("data", [b"<html>not an image</html>", gzip.compress(b"plain text" * 100), b""])
def test_sniff_refuses_other_files(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "x.nii").write_bytes(data)
    with pytest.raises(InputError, match="NIfTI"):
        sniff(tmp_path / "x.nii")


@pytest.mark.parametrize("name", ["../evil.dcm", "a/../../evil", "/etc/passwd", "C:/windows/evil", "..\\evil", "a\x00b"])
def test_escaping_member_names_are_refused(name: str) -> None:
    with pytest.raises(InputError):
        safe_member_path(name)


def test_plain_member_names_are_kept() -> None:
    assert str(safe_member_path("series/./IM0001.dcm")) == "series/IM0001.dcm"
    assert safe_member_path("series/") is None


def test_zip_with_traversal_extracts_nothing(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {"ok.dcm": b"1", "../../outside.dcm": b"2"})
    with pytest.raises(InputError, match="outside"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "outside.dcm").exists()


def test_zip_with_symlink_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {"ok.dcm": b"1"}, link="link.dcm")
    with pytest.raises(InputError, match="link"):
        extract_zip(archive, tmp_path / "out")


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {"big.dcm": b"\x00" * (8 * 1024 * 1024)})
    with pytest.raises(InputError, match="zip bomb"):
        extract_zip(archive, tmp_path / "out")


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {f"IM{i}.dcm": b"x" for i in range(6)})
    with pytest.raises(InputError, match="at most 5"):
        extract_zip(archive, tmp_path / "out", ZipLimits(max_entries=5))


def test_series_is_extracted_inside_destination(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {"series/IM1.dcm": b"one", "series/IM2.dcm": b"two"})
    out = extract_zip(archive, tmp_path / "out")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.dcm")) == ["series/IM1.dcm", "series/IM2.dcm"]
    assert (out / "series" / "IM2.dcm").read_bytes() == b"two"


def test_corrupt_zip_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "s.zip").write_bytes(b"PK\x03\x04" + b"garbage" * 10)
    with pytest.raises(InputError, match="zip"):
        extract_zip(tmp_path / "s.zip", tmp_path / "out")
