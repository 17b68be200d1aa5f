"""Study keys: what makes a rerun recognise a study it has already done.

A NIfTI file or a .zip is keyed by the SHA-256 of its bytes (read in chunks, so a 1 GB volume
never sits in memory); a DICOM series by its SeriesInstanceUID, which the scanner wrote and
which survives copying, renaming and re-zipping. Hashing tens of thousands of volumes on every
rerun would dominate a resumed batch, so digests are cached by (path, size, mtime) in the
results folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^0-9A-Za-z.\-]")
#: Longest key used verbatim as a file name; longer ones are replaced by their hash.
MAX_KEY_CHARS = 120


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _safe(text: str) -> str:
    safe = _UNSAFE.sub("_", text)
    if len(safe) > MAX_KEY_CHARS:
        safe = safe[:40] + "_" + hashlib.sha256(text.encode()).hexdigest()[:32]
    return safe


def content_key(digest: str) -> str:
    return f"sha256-{digest}"


def series_key(uid: str) -> str:
    return _safe(f"uid-{uid}")


def path_key(kind: str, path: str) -> str:
    """Key of a study that cannot be read at all (missing file): its path, so it shows once."""
    return f"{kind}-{hashlib.sha256(path.encode()).hexdigest()[:32]}"


def with_context(study_key: str, *, mask_digest: str | None, mask_label: int | None, overrides: Iterable[str]) -> str:
    """The study key plus a short hash of the mask and clinical context, when there is any."""
    ov = sorted(overrides)
    if mask_digest is None and mask_label is None and not ov:
        return study_key
    blob = json.dumps({"mask": mask_digest, "label": mask_label, "overrides": ov}, sort_keys=True)
    return f"{study_key}~{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


class DigestCache:
    """SHA-256 digests of files, remembered by (absolute path, size, mtime) across runs."""

    def __init__(self, path: Path | None):
        self.path = path
        self._data: dict[str, list] = {}
        self._dirty = False
        if path is not None and path.exists():
            try:
                self._data = json.loads(path.read_text())
            except (OSError, ValueError):
                self._data = {}  # a damaged cache only costs re-hashing

    def digest(self, file: str | Path) -> str:
        p = Path(file).resolve()
        st = p.stat()
        stamp = [st.st_size, st.st_mtime_ns]
        hit = self._data.get(str(p))
        if hit is not None and hit[:2] == stamp:
            return str(hit[2])
        d = file_sha256(p)
        self._data[str(p)] = [*stamp, d]
        self._dirty = True
        return d

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._data))
        os.replace(tmp, self.path)
        self._dirty = False
