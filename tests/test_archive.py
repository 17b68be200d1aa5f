"""hepcal.archive: the zip limits shared by scan, batch and the web app, and streamed extraction."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hepcal.archive import ZipLimits, extract_zip, limits
from hepcal.errors import InputError


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_defaults_come_from_limits_yaml():
    lim, z = ZipLimits(), limits().zip
    assert (lim.max_entries, lim.max_total_bytes, lim.max_entry_bytes, lim.max_ratio) == (z.max_entries, z.max_total_bytes, z.max_entry_bytes, z.max_ratio)
    assert limits().nifti.max_voxels >= 512 * 512 * 1000  # a long thin-slice series still fits


def test_an_entry_over_the_per_entry_limit_is_refused_before_extraction(tmp_path):
    archive = _zip(tmp_path / "s.zip", {"a.dcm": b"1" * 10, "big.dcm": bytes(range(256)) * 64})
    with pytest.raises(InputError, match="one entry may be at most"):
        extract_zip(archive, tmp_path / "out", ZipLimits(max_entry_bytes=4096))
    assert not (tmp_path / "out").exists()


def test_many_small_entries_cannot_add_up_to_a_bomb(tmp_path):
    """Each entry stays under the per-entry ratio floor; together they expand a thousand-fold."""
    archive = _zip(tmp_path / "s.zip", {f"IM{i}.dcm": b"\0" * (512 * 1024) for i in range(8)})
    with pytest.raises(InputError, match="together"):
        extract_zip(archive, tmp_path / "out")


def test_entries_are_streamed_never_read_whole(tmp_path, monkeypatch):
    """scan/batch read a zip through extract_zip: ZipFile.read (whole entry in memory) is never used."""
    from hepcal.imaging.dicom_series import write_ct_series
    from hepcal.imaging.phantom import make_phantom
    from hepcal.imaging.reading import read_study

    ph = make_phantom(spacing=(6.0, 6.0, 6.0), seed=1)
    write_ct_series(ph.volume, tmp_path / "dcm")
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((tmp_path / "dcm").iterdir()):
            zf.write(f, f.name)

    def forbidden(*a, **k):
        raise AssertionError("ZipFile.read loads a whole entry into memory")

    monkeypatch.setattr(zipfile.ZipFile, "read", forbidden)
    vol = read_study(archive)
    assert vol.shape == ph.volume.shape and (vol.array == ph.volume.array).all()


def test_encrypted_entries_are_refused_clearly(tmp_path):
    archive = _zip(tmp_path / "s.zip", {"a.dcm": b"x" * 100})
    data = bytearray(archive.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.find(sig)
        data[i + off] |= 1
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError, match="encrypted; give an unencrypted zip"):
        extract_zip(archive, tmp_path / "out")
