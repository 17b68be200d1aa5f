"""Checking uploaded CT files before anything reads them.

An upload is identified by its bytes, never by the name the client sent: a NIfTI-1/2 header
(plain or gzip-compressed) or a zip archive. A zip is checked and extracted by
:mod:`hepcal.archive`, the one implementation ``hepcal scan`` and ``hepcal batch`` use too
(entry names, links, encryption, entry count, per-entry and total size, expansion ratio, with
the limits of ``limits.yaml``); the NIfTI voxel cap is applied by the CT reader for all three.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Literal

from hepcal.archive import ZipLimits, check_zip, extract_zip, safe_member_path
from hepcal.errors import InputError

__all__ = ["ALLOWED", "SUFFIX", "Kind", "ZipLimits", "check_zip", "extract_zip", "safe_member_path", "sniff"]

Kind = Literal["nifti", "nifti_gz", "zip"]
SUFFIX: dict[str, str] = {"nifti": ".nii", "nifti_gz": ".nii.gz", "zip": ".zip"}

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
NIFTI1_MAGICS = (b"n+1\x00", b"ni1\x00")  # at byte 344
NIFTI2_MAGICS = (b"n+2\x00", b"ni2\x00")  # at byte 4
ALLOWED = "a NIfTI file (.nii or .nii.gz) or a zip of one DICOM series"


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
