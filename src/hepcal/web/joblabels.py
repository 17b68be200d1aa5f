"""What a reader knows a scan job by: the uploaded file's own name and an optional label.

The job folder keeps the study under a name of its detected type (``study.nii.gz``), so the
name the file had on the reader's computer is kept beside it, in ``about.json``, with the label
typed at upload. Both are plain text, escaped wherever shown.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

ABOUT = "about.json"
MAX_NAME = 255


def original_name(filename: str | None) -> str:
    """The file's own name without any folder a browser sent, printable, at most 255 characters."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    return "".join(ch for ch in name if ch.isprintable()).strip()[:MAX_NAME]


def write_about(folder: Path, *, file_name: str, label: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ABOUT).write_text(json.dumps({"file_name": file_name, "label": label}, ensure_ascii=False), encoding="utf-8")


def read_about(folder: Path) -> dict[str, str]:
    """``{"file_name": ..., "label": ...}``; empty strings for a job without the file (older jobs)."""
    out = {"file_name": "", "label": ""}
    try:
        data: Any = json.loads((folder / ABOUT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    if isinstance(data, dict):
        out.update({k: str(data.get(k) or "") for k in out})
    return out


def job_about(request: Any, job_id: str) -> dict[str, str]:
    """:func:`read_about` of a job of this app (for the pages: ``job_about(request, job.id)``)."""
    return read_about(request.app.state.services.runner.folder(job_id))
