"""The files a web viewer opens: the CT volume, a calcium label map and lesion outlines (NIfTI).

A browser viewer (NiiVue) reads NIfTI, so a finished scan writes, beside findings.json:

* ``ct.nii.gz``: the study in Hounsfield units (int16);
* ``calcium.nii.gz``: each lesion's calcium labelled with the lesion's number (1, 2, ...);
* ``outline.nii.gz``: a one-voxel ring just outside each lesion (calcium and its soft-tissue or
  fluid component, holes filled), drawn in every axial plane, labelled with the lesion's number;
* ``viewer.json``: the lesions with their centroids (voxel index of these files and RAS mm),
  so a lesion list can jump to each one.

The NIfTI voxel axes are (column, row, plane) of hepcal's canonical volume, i.e. patient
right→left, anterior→posterior, inferior→superior, and the affine maps them to RAS millimetres
(NIfTI's frame), so any NIfTI viewer shows them in the patient's true geometry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from hepcal.imaging.pipeline import ScanResult
from hepcal.imaging.volume import Volume, ras_to_lps

__all__ = ["VIEWER_FILES", "lesion_labels", "nifti_affine", "write_viewer_volumes"]

#: What :func:`write_viewer_volumes` writes, by role.
VIEWER_FILES = {"ct": "ct.nii.gz", "calcium": "calcium.nii.gz", "outline": "outline.nii.gz", "index": "viewer.json"}
#: Axis order of the NIfTI files relative to hepcal's (plane, row, column).
_TO_NIFTI = (2, 1, 0)


def nifti_affine(volume: Volume) -> np.ndarray:
    """Affine of the (column, row, plane) array to RAS mm: hepcal's LPS affine, axes swapped."""
    affine = np.eye(4)
    affine[:3, :3] = volume.affine[:3, list(_TO_NIFTI)]
    affine[:3, 3] = volume.affine[:3, 3]
    return ras_to_lps(affine)


def _ring(region: np.ndarray) -> np.ndarray:
    """The in-plane one-voxel ring around ``region`` (plane by plane, holes filled first)."""
    filled = np.stack([ndi.binary_fill_holes(plane) for plane in region])
    grown = ndi.binary_dilation(filled, structure=np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], bool))
    return grown & ~filled


def lesion_labels(result: ScanResult) -> tuple[np.ndarray, np.ndarray]:
    """(calcium, outline) label maps on the volume's grid; a voxel's value = its lesion's number.

    The outline box is the lesion box grown by one voxel in-plane so the ring may sit outside it;
    where rings of two lesions touch, the later lesion's number wins (only the ring, never calcium).
    """
    shape = result.volume.shape
    dtype = np.uint8 if len(result.lesions) < 256 else np.uint16
    calcium = np.zeros(shape, dtype=dtype)
    outline = np.zeros(shape, dtype=dtype)
    for les in result.lesions:
        box = les.box
        calcium[box][les.calcium] = les.index
        grown = tuple([box[0], *(slice(max(0, s.start - 1), min(n, s.stop + 1)) for s, n in zip(box[1:], shape[1:]))])
        region = np.zeros(tuple(s.stop - s.start for s in grown), bool)
        offset = tuple(b.start - g.start for b, g in zip(box, grown))
        inner = tuple(slice(o, o + (b.stop - b.start)) for o, b in zip(offset, box))
        region[inner] = les.calcium | les.tissue
        ring = _ring(region)
        outline[grown][ring] = les.index
    return calcium, outline


def _lesion_entry(result: ScanResult, les: Any) -> dict[str, Any]:
    p, r, c = les.centroid_voxel
    x, y, z = les.centroid_mm
    f = les.finding
    return {
        "id": les.index,
        "voxel": [round(float(c), 2), round(float(r), 2), round(float(p), 2)],  # NIfTI (i, j, k)
        "plane": int(round(float(p))),
        "mm_ras": [round(-float(x), 2), round(-float(y), 2), round(float(z), 2)],
        "calcification": list(f.get("calcification") or []),
        "size_mm": f.get("size_mm"),
        "max_hu": f.get("max_hu"),
    }


def write_viewer_volumes(result: ScanResult, out_dir: str | Path) -> Path:
    """Write the viewer's files into ``out_dir`` (created); returns the viewer.json path."""
    import nibabel as nib

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    affine = nifti_affine(result.volume)
    hu = np.clip(np.rint(result.volume.array), -1024, 32767).astype(np.int16)
    ct = nib.Nifti1Image(np.transpose(hu, _TO_NIFTI), affine)
    ct.header.set_xyzt_units("mm")
    ct.header["descrip"] = b"hepcal CT (HU)"
    nib.save(ct, out / VIEWER_FILES["ct"])
    calcium, outline = lesion_labels(result)
    for role, labels in (("calcium", calcium), ("outline", outline)):
        img = nib.Nifti1Image(np.transpose(labels, _TO_NIFTI), affine)
        img.header.set_xyzt_units("mm")
        img.header["descrip"] = f"hepcal {role} (lesion numbers)".encode()
        nib.save(img, out / VIEWER_FILES[role])
    index = {
        "shape": [int(result.volume.shape[i]) for i in _TO_NIFTI],
        "axes": "i: patient right to left, j: anterior to posterior, k: inferior to superior; affine to RAS mm",
        "files": {role: name for role, name in VIEWER_FILES.items() if role != "index"},
        "lesions": [_lesion_entry(result, les) for les in result.lesions],
    }
    path = out / VIEWER_FILES["index"]
    path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return path
