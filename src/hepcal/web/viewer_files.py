"""Where a scan job keeps its viewer files, and writing them when the job finishes.

Kept apart from the viewer's routes (:mod:`hepcal.web.viewer`) so the scan runner can call it
without importing the web layer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The job's viewer folder, inside its output folder.
VIEWER_DIR = "viewer"
#: The files in it (names fixed by :mod:`hepcal.imaging.viewer_volumes`), by role.
FILES = {"ct": "ct.nii.gz", "calcium": "calcium.nii.gz", "outline": "outline.nii.gz", "index": "viewer.json"}


def write_job_viewer(result: Any, out_dir: Path) -> Path | None:
    """Write the viewer's NIfTI files of a finished scan into ``<out_dir>/viewer/``.

    The findings stand without the viewer: a result that is not the CT pipeline's ScanResult
    (no volume) is skipped, and a failure is logged, so the job still succeeds (its viewer page
    then says the images are not available).
    """
    if getattr(result, "volume", None) is None or not hasattr(result, "lesions"):
        return None
    try:
        from hepcal.imaging.viewer_volumes import write_viewer_volumes

        return write_viewer_volumes(result, Path(out_dir) / VIEWER_DIR)
    except Exception:  # noqa: BLE001 - the viewer is an extra; the analysis result must not be lost
        log.exception("viewer files not written for %s", out_dir)
        return None
