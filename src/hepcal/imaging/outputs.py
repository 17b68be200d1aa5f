"""Write a scan's results: ``findings.json``, key images and (for DICOM input) a DICOM SEG."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hepcal.errors import InputError
from hepcal.imaging.keyimages import render_lesion, render_liver_outline, render_overview
from hepcal.imaging.pipeline import ScanResult
from hepcal.imaging.seg import SegWriteError, write_seg

__all__ = ["write_outputs"]

logger = logging.getLogger(__name__)


def write_outputs(result: ScanResult, out_dir: str | Path, *, images: bool = True, seg: bool = True) -> Path:
    """Write everything into ``out_dir`` (created if needed); returns the findings.json path."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if images:
        for les in result.lesions:
            name = f"lesion-{les.index}.png"
            render_lesion(result.volume, les, out / name, liver=result.liver.mask)
            result.key_images[les.index] = name
        render_overview(result.volume, result.liver.mask, result.lesions, out / "overview.png")
        result.overview_image = "overview.png"
        render_liver_outline(result.volume, result.liver.mask, out / "liver-outline.png")
    if seg and result.lesions and result.volume.metadata.get("dicom_headers"):
        try:
            _, fixed = write_seg(result.volume, result.lesions, out / "calcifications-seg.dcm")
            result.seg_file = "calcifications-seg.dcm"
            if fixed:
                result.notes.append("the source series lacks " + ", ".join(fixed) + "; the DICOM SEG references generated values for them")
        except SegWriteError as exc:
            result.notes.append(str(exc))
    data = result.to_dict()
    if images:  # the axial liver outline, for the reader to check the segmentation
        data["liver_image"] = "liver-outline.png"
    path = out / "findings.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
