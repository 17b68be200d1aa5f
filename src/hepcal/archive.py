"""Reading zip archives of studies within bounded resources, and the limits every reader shares.

``hepcal scan``, ``hepcal batch`` and the web app read a ``.zip`` of a DICOM series through this
one module: every entry is checked (no absolute paths, no ``..``, no links, no encryption,
bounded count, per-entry and total size, expansion ratio) before anything is extracted, and
entries are streamed to disk in chunks while the bytes actually written are counted, so a
lying header or a multi-gigabyte entry can neither fill the memory nor the disk. The numbers
live in ``limits.yaml`` (validated here), with the reason for each.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from hepcal import yamlfile
from hepcal.errors import HepcalError, InputError

__all__ = ["Limits", "ZipLimits", "check_zip", "extract_zip", "limits", "safe_member_path"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_CHUNK = 1024 * 1024


class _ZipSection(BaseModel):
    model_config = _FROZEN
    max_entries: int = Field(gt=0)
    max_entries_basis: str
    max_total_bytes: int = Field(gt=0)
    max_total_basis: str
    max_entry_bytes: int = Field(gt=0)
    max_entry_basis: str
    max_ratio: float = Field(gt=1)
    min_ratio_bytes: int = Field(ge=0)
    max_ratio_basis: str


class _NiftiSection(BaseModel):
    model_config = _FROZEN
    max_voxels: int = Field(gt=0)
    max_voxels_basis: str


class Limits(BaseModel):
    """The validated content of ``limits.yaml``."""

    model_config = _FROZEN
    version: int
    zip: _ZipSection
    nifti: _NiftiSection


class LimitsError(HepcalError):
    """``limits.yaml`` does not validate (a packaging or editing error)."""


@lru_cache(maxsize=1)
def limits() -> Limits:
    """The shipped limits (validated once; a broken file is a packaging error, raised loudly)."""
    return yamlfile.load_packaged("hepcal", "limits.yaml", Limits, LimitsError)


def _default(name: str) -> int | float:
    return getattr(limits().zip, name)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on one archive; defaults from ``limits.yaml``, a caller may tighten them."""

    max_entries: int = int(_default("max_entries"))
    max_total_bytes: int = int(_default("max_total_bytes"))
    max_entry_bytes: int = int(_default("max_entry_bytes"))
    max_ratio: float = float(_default("max_ratio"))
    min_ratio_bytes: int = int(_default("min_ratio_bytes"))


def _mb(n: float) -> str:
    return f"{n / 1024**2:,.0f} MB"


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


def check_zip(zf: zipfile.ZipFile, bounds: ZipLimits | None = None) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every file entry with its safe path; raises :class:`InputError` before anything is extracted."""
    lim = bounds or ZipLimits()
    infos = zf.infolist()
    if len(infos) > lim.max_entries:
        raise InputError(f"the zip has {len(infos):,} entries; at most {lim.max_entries:,} are allowed (one CT series)")
    total = packed = 0
    out: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    seen: set[str] = set()
    for info in infos:
        if _is_link(info):
            raise InputError(f"the zip entry {info.filename!r} is a symbolic link; links are not allowed")
        rel = safe_member_path(info.filename)
        if rel is None:
            continue
        if info.flag_bits & 0x1:
            raise InputError(f"the zip entry {info.filename!r} is encrypted; give an unencrypted zip (hepcal cannot read protected archives)")
        key = str(rel).lower()
        if key in seen:
            raise InputError(f"the zip has two entries named {info.filename!r}")
        seen.add(key)
        if info.file_size > lim.max_entry_bytes:
            raise InputError(f"the zip entry {info.filename!r} expands to {_mb(info.file_size)}; one entry may be at most {_mb(lim.max_entry_bytes)}")
        if info.file_size > lim.min_ratio_bytes and info.file_size > lim.max_ratio * max(info.compress_size, 1):
            raise InputError(f"the zip entry {info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f}-fold; refusing a possible zip bomb")
        total += info.file_size
        packed += info.compress_size
        out.append((info, rel))
    if total > lim.max_total_bytes:
        raise InputError(f"the zip expands to {_mb(total)}; at most {_mb(lim.max_total_bytes)} are allowed")
    if total > lim.min_ratio_bytes and total > lim.max_ratio * max(packed, 1):
        raise InputError(f"the zip's entries expand {total / max(packed, 1):.0f}-fold together; refusing a possible zip bomb")
    if not out:
        raise InputError("the zip is empty; expected the files of one DICOM series")
    return out


def _copy_limited(src: BinaryIO, dst: BinaryIO, budget: int, name: str) -> int:
    written = 0
    while chunk := src.read(_CHUNK):
        written += len(chunk)
        if written > budget:
            raise InputError(f"the zip entry {name!r} expands beyond the allowed size (its header understates it); refusing the archive")
        dst.write(chunk)
    return written


def extract_zip(archive: Path, dest: Path, bounds: ZipLimits | None = None) -> Path:
    """Check ``archive`` and stream its entries into ``dest`` (created); returns ``dest``.

    Entries are copied in 1 MiB chunks, never read whole into memory; the bytes written are
    counted against the per-entry and total limits whatever the headers claim.
    """
    lim = bounds or ZipLimits()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise InputError(f"{Path(archive).name}: not a readable zip archive; expected a zip of one DICOM series") from None
    with zf:
        entries = check_zip(zf, lim)
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        budget = lim.max_total_bytes
        for info, rel in entries:
            target = (root / rel).resolve()
            if root not in target.parents:
                raise InputError(f"the zip entry {info.filename!r} points outside the archive; refusing it")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, target.open("xb") as dst:
                    budget -= _copy_limited(src, dst, min(budget, lim.max_entry_bytes), info.filename)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
                raise InputError(f"the zip entry {info.filename!r} is corrupt or uses an unsupported compression") from None
    return dest
