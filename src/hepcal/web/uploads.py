"""Checking uploaded CT files before anything reads them.

An upload is identified by its bytes, never by the name the client sent: a NIfTI-1/2 header
(plain or gzip-compressed) or a zip archive. A zip is checked entry by entry (no absolute
paths, no ``..``, no links, bounded count and size) and extracted by this module into a
folder it chooses, counting the bytes actually written so a lying header cannot fill the disk.
"""

from __future__ import annotations

import gzip
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from hepcal.errors import InputError

Kind = Literal["nifti", "nifti_gz", "zip"]
SUFFIX: dict[str, str] = {"nifti": ".nii", "nifti_gz": ".nii.gz", "zip": ".zip"}

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
NIFTI1_MAGICS = (b"n+1\x00", b"ni1\x00")  # at byte 344
NIFTI2_MAGICS = (b"n+2\x00", b"ni2\x00")  # at byte 4
ALLOWED = "a NIfTI file (.nii or .nii.gz) or a zip of one DICOM series"


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 5000
    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0  # uncompressed/compressed beyond this looks like a zip bomb


def _is_nifti_header(head: bytes) -> bool:
    return head[344:348] in NIFTI1_MAGICS or head[4:8] in NIFTI2_MAGICS


def sniff(path: Path) -> Kind:
    """What an uploaded file is, from its first bytes; anything else is an :class:`InputError`."""
    with path.open("rb") as fh:
        head = fh.read(540)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as gz:
                inner = gz.read(540)
        except (OSError, EOFError, zlib.error):
            raise InputError(f"the upload is gzip-compressed but cannot be decompressed; expected {ALLOWED}") from None
        if _is_nifti_header(inner):
            return "nifti_gz"
        raise InputError(f"the upload is gzip-compressed but is not a NIfTI image; expected {ALLOWED}")
    if _is_nifti_header(head):
        return "nifti"
    raise InputError(f"the upload is not a NIfTI image or a zip archive; expected {ALLOWED}")


def safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path an archive entry may be written to, or ``None`` for a directory entry.

    Raises :class:`InputError` for names that would escape the destination.
    """
    if "\x00" in name:
        raise InputError("the zip has an entry whose name contains a NUL byte; refusing it")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise InputError(f"the zip entry {name!r} has an absolute path; refusing the archive")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InputError(f"the zip entry {name!r} points outside the archive ('..'); refusing it")
    if not parts or norm.endswith("/"):
        return None
    return PurePosixPath(*parts)


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = (info.external_attr >> 16) & 0xFFFF
    return stat.S_ISLNK(mode)


def check_zip(zf: zipfile.ZipFile, limits: ZipLimits) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every file entry with its safe path; raises before anything is extracted."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise InputError(f"the zip has {len(infos)} entries; at most {limits.max_entries} are allowed")
    total = 0
    out: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    seen: set[str] = set()
    for info in infos:
        if _is_link(info):
            raise InputError(f"the zip entry {info.filename!r} is a symbolic link; links are not allowed")
        rel = safe_member_path(info.filename)
        if rel is None:
            continue
        if info.flag_bits & 0x1:
            raise InputError(f"the zip entry {info.filename!r} is encrypted; upload an unencrypted zip")
        key = str(rel).lower()
        if key in seen:
            raise InputError(f"the zip has two entries named {info.filename!r}")
        seen.add(key)
        total += info.file_size
        if info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > 1024 * 1024:
            raise InputError(f"the zip entry {info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f}-fold; refusing a possible zip bomb")
        out.append((info, rel))
    if total > limits.max_total_bytes:
        raise InputError(f"the zip expands to {total / 1024**2:.0f} MB; at most {limits.max_total_bytes / 1024**2:.0f} MB are allowed")
    if not out:
        raise InputError("the zip is empty; expected the files of one DICOM series")
    return out


def _copy_limited(src: BinaryIO, dst: BinaryIO, budget: int, name: str) -> int:
    written = 0
    while chunk := src.read(1024 * 1024):
        written += len(chunk)
        if written > budget:
            raise InputError(f"the zip entry {name!r} expands beyond the allowed total size; refusing the archive")
        dst.write(chunk)
    return written


def extract_zip(archive: Path, dest: Path, limits: ZipLimits = ZipLimits()) -> Path:
    """Extract a checked archive into ``dest`` (created) and return ``dest``."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise InputError(f"the upload starts like a zip but is not a readable zip archive; expected {ALLOWED}") from None
    with zf:
        entries = check_zip(zf, limits)
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        budget = limits.max_total_bytes
        for info, rel in entries:
            target = (root / rel).resolve()
            if root not in target.parents:
                raise InputError(f"the zip entry {info.filename!r} points outside the archive; refusing it")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, target.open("xb") as dst:
                    budget -= _copy_limited(src, dst, budget, info.filename)
            except (zipfile.BadZipFile, zlib.error, EOFError):
                raise InputError(f"the zip entry {info.filename!r} is corrupt") from None
    return dest
