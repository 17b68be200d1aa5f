"""Read CT studies (NIfTI, DICOM series folder or .zip) into a canonical :class:`Volume`.

Everything that can go wrong with a study a user hands us is turned into an
:class:`~hepcal.errors.InputError` that names the problem and what would be accepted: a
non-CT modality, several candidate series, a single slice, missing or duplicate slices,
gantry tilt, files whose pixel data cannot be decoded. What only a reader can see is checked
here through :mod:`hepcal.imaging.sanity` (rescale tags, one geometry per series, slice
positions, NIfTI scaling and size); a usable oddity becomes a warning in
``volume.metadata["warnings"]``, which the pipeline carries into ``findings.json``.

Stored values become Hounsfield units through pydicom's ``apply_modality_lut`` (rescale slope
and intercept, or a Modality LUT Sequence); a ``.zip`` is streamed to a temporary folder by
:mod:`hepcal.archive` (never read into memory) within the limits of ``limits.yaml``.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepcal.archive import extract_zip, limits
from hepcal.errors import InputError
from hepcal.imaging.sanity import SanityError, StudyError, StudyWarning, check_hu_range, outcome, sanity_config
from hepcal.imaging.volume import Volume, canonical_orientation, ras_to_lps

__all__ = [
    "SeriesInfo",
    "StudyError",
    "is_nifti",
    "list_series",
    "read_dicom_series",
    "read_nifti",
    "read_study",
]

logger = logging.getLogger(__name__)

#: Largest angle (degrees) between the slice stacking direction and the slice normal that is
#: still read as an untilted series; scanners write positions with ~1e-3 mm rounding.
TILT_TOLERANCE_DEG = 0.5
#: Relative deviation of one slice gap from the median gap tolerated before the stack is
#: resampled to even spacing (with a warning); beyond ``max_uneven`` (and not a missing slice)
#: it is refused. Both numbers live in sanity.yaml (check ``slice_spacing``).
SPACING_TOLERANCE = float(sanity_config()["slice_spacing"].number("tolerance"))
MAX_UNEVEN = float(sanity_config()["slice_spacing"].number("max_uneven"))
#: Image types that are never the diagnostic axial series.
_SKIP_IMAGE_TYPES = {"LOCALIZER", "SCOUT", "SECONDARY_CAPTURE"}
_NOT_IMAGES = {"SEG", "SR", "KO", "PR", "RTSTRUCT", "REG", "DOC", "RTPLAN", "RTDOSE"}


def is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def read_study(path: str | Path, *, series: str | None = None) -> Volume:
    """Read a CT study from a NIfTI file, a DICOM series folder or a .zip of one.

    Parameters
    ----------
    path : str or Path
        ``.nii``/``.nii.gz`` file, a folder of DICOM files (searched recursively) or a ``.zip``.
    series : str, optional
        SeriesInstanceUID, SeriesNumber or 1-based index (as listed in the error message)
        of the series to read when a folder holds several CT series.

    Raises
    ------
    StudyError
        When the input is not one readable CT volume; the message says why and what to do.
    """
    p = Path(path)
    if not p.exists():
        raise StudyError(f"{p}: no such file or folder; expected a DICOM folder, a .zip of one, or a .nii/.nii.gz file")
    if p.is_file() and is_nifti(p):
        return read_nifti(p)
    if p.is_dir() or (p.is_file() and zipfile.is_zipfile(p)):
        return read_dicom_series(p, series=series)
    if p.is_file():
        # a lone DICOM file: read it to give the precise reason
        return read_dicom_series(p, series=series)
    raise StudyError(f"{p}: not a DICOM folder, .zip or NIfTI file")


# --------------------------------------------------------------------------------- NIfTI


def read_nifti(path: str | Path) -> Volume:
    """Read a NIfTI CT volume (values must already be Hounsfield units)."""
    import nibabel as nib

    p = Path(path)
    try:
        img = nib.load(str(p))  # reads the header only; voxels stay on disk until asked for
        shape = img.shape
        # nibabel moves scl_slope/scl_inter from the header into the array proxy it applies them with
        scaling = (getattr(img.dataobj, "slope", None), getattr(img.dataobj, "inter", None))
    except Exception as exc:  # nibabel raises many types for broken files
        raise StudyError(f"{p}: cannot read as NIfTI ({exc})") from None
    cap = limits().nifti.max_voxels
    declared = int(np.prod([int(n) for n in shape], dtype=object))
    if declared > cap:
        raise StudyError(f"{p}: the header declares {' × '.join(str(n) for n in shape)} = {declared:,} voxels; at most {cap:,} are read (limits.yaml nifti.max_voxels)")
    warnings = _nifti_scaling(scaling, str(p))
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise StudyError(f"{p}: expected a 3-D CT volume, got an image of shape {img.shape}")
    if min(shape) < 2:
        raise StudyError(f"{p}: a single slice (shape {tuple(shape)}) is not a volume; hepcal needs a 3-D CT series")
    try:
        data = np.asanyarray(img.dataobj).reshape(shape)
    except Exception as exc:
        raise StudyError(f"{p}: cannot read the voxel data ({exc}); the file may be truncated") from None
    if np.issubdtype(data.dtype, np.integer) and data.dtype.itemsize <= 2 and data.min() >= -32768 and data.max() <= 32767:
        data = data.astype(np.int16, copy=False)
    else:
        data = data.astype(np.float32, copy=False)
        if not np.all(np.isfinite(data)):
            raise StudyError(f"{p}: the volume contains NaN or infinite values")
    affine = ras_to_lps(img.affine)
    try:
        arr, aff = canonical_orientation(np.asarray(data), affine)
    except InputError as exc:
        raise SanityError("geometry", f"{p}: refused by the study check 'geometry': the NIfTI affine is unusable ({exc})") from None
    check_hu_range(arr, str(p))
    return Volume(arr, aff, {"source": p.name, "format": "nifti", "modality": "CT", "warnings": tuple(warnings)})


def _nifti_scaling(scaling: tuple[float | None, float | None], where: str) -> list[StudyWarning]:
    """scl_slope/scl_inter as nibabel applies them: finite, and a slope of plausible magnitude."""
    slope, inter = scaling
    s = 1.0 if slope is None else float(slope)
    i = 0.0 if inter is None else float(inter)
    if s == 1.0 and i == 0.0:
        return []  # no scaling: stored values are the values
    check = sanity_config()["nifti_scaling"]
    lo, hi = float(check.number("min_abs_slope")), float(check.number("max_abs_slope"))
    if not (np.isfinite(s) and np.isfinite(i) and lo <= abs(s) <= hi):
        return [outcome("nifti_scaling", where, f"scl_slope {s:g} and scl_inter {i:g} cannot map stored values to HU (|slope| must be {lo:g}–{hi:g}, both finite)")]
    return []


# --------------------------------------------------------------------------------- DICOM


@dataclass(frozen=True)
class SeriesInfo:
    """What a folder holds, for choosing a series or explaining why none was chosen."""

    key: tuple
    uid: str
    number: str
    description: str
    modality: str
    n_files: int
    orientation: str
    image_type: str

    def describe(self, index: int) -> str:
        return (
            f"[{index}] series {self.number or '?'} {self.description or '(no description)'!s}: "
            f"{self.modality}, {self.n_files} file(s), {self.orientation}, uid {self.uid or '(none)'}"
        )


@dataclass
class _Header:
    name: str
    ds: Any  # pydicom Dataset without pixel data
    payload: Path  # the file, to read the pixels later (a zip is extracted first)


@contextmanager
def _as_files(path: Path) -> Iterator[Path]:
    """``path`` itself, or a .zip extracted (checked, streamed) into a temporary folder."""
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="hepcal-zip-") as tmp:
            yield extract_zip(path, Path(tmp) / "study")
    else:
        yield path


def _iter_sources(path: Path, label: str) -> Iterable[tuple[str, Path]]:
    if path.is_file():
        yield label, path
    else:
        prefix = f"{label}:" if label.lower().endswith(".zip") else ""
        for f in sorted(path.rglob("*")):
            if f.is_file():
                yield prefix + f.relative_to(path).as_posix(), f


def _read_headers(path: Path, label: str) -> tuple[list[_Header], list[str]]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    headers: list[_Header] = []
    skipped: list[str] = []
    for name, payload in _iter_sources(path, label):
        try:
            ds = pydicom.dcmread(payload, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError, TypeError, KeyError, AttributeError):
            skipped.append(name)
            continue
        meta = getattr(ds, "file_meta", None)
        if meta is not None and str(meta.get("MediaStorageSOPClassUID", "")) == "1.2.840.10008.1.3.10":
            continue  # DICOMDIR: an index, not an image
        headers.append(_Header(name, ds, payload))
    return headers, skipped


def _floats(value: Any, n: int) -> np.ndarray | None:
    try:
        arr = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


def _orientation_name(iop: np.ndarray | None) -> str:
    if iop is None:
        return "no orientation"
    normal = np.cross(iop[:3], iop[3:])
    axis = int(np.argmax(np.abs(normal)))
    return {0: "sagittal", 1: "coronal", 2: "axial"}[axis]


def _series_key(ds: Any) -> tuple:
    uid = str(ds.get("SeriesInstanceUID", "") or "")
    if uid:
        return (uid,)
    # the real example series has an empty SeriesInstanceUID: fall back on what a series shares
    iop = _floats(ds.get("ImageOrientationPatient"), 6)
    return (
        "",
        str(ds.get("FrameOfReferenceUID", "")),
        str(ds.get("SeriesNumber", "")),
        str(ds.get("SeriesDescription", "")),
        str(ds.get("Modality", "")),
        tuple(np.round(iop, 3)) if iop is not None else None,
        int(ds.get("Rows", 0) or 0),
        int(ds.get("Columns", 0) or 0),
    )


def _group(headers: Sequence[_Header]) -> dict[tuple, list[_Header]]:
    groups: dict[tuple, list[_Header]] = defaultdict(list)
    for h in headers:
        groups[_series_key(h.ds)].append(h)
    return dict(groups)


def _info(key: tuple, members: Sequence[_Header]) -> SeriesInfo:
    ds = members[0].ds
    image_type = "\\".join(str(v) for v in (ds.get("ImageType") or []))
    return SeriesInfo(
        key=key,
        uid=str(ds.get("SeriesInstanceUID", "") or ""),
        number=str(ds.get("SeriesNumber", "") or ""),
        description=str(ds.get("SeriesDescription", "") or ""),
        modality=str(ds.get("Modality", "") or "?"),
        n_files=len(members),
        orientation=_orientation_name(_floats(ds.get("ImageOrientationPatient"), 6)),
        image_type=image_type,
    )


def list_series(path: str | Path) -> list[SeriesInfo]:
    """Every series found under ``path`` (folder or .zip), in a stable order."""
    with _as_files(Path(path)) as files:
        headers, _ = _read_headers(files, Path(path).name)
    groups = _group(headers)
    return [_info(k, v) for k, v in sorted(groups.items(), key=lambda kv: (str(kv[1][0].ds.get("SeriesNumber", "")), kv[0]))]


def _is_candidate(info: SeriesInfo) -> bool:
    types = {t.upper() for t in info.image_type.split("\\")}
    return info.modality == "CT" and info.orientation == "axial" and not (types & _SKIP_IMAGE_TYPES)


def _choose(path: Path, groups: dict[tuple, list[_Header]], series: str | None) -> list[_Header]:
    infos = sorted(
        (_info(k, v) for k, v in groups.items()),
        key=lambda i: (i.number, str(i.key)),
    )
    listing = "\n".join("  " + i.describe(n) for n, i in enumerate(infos, 1))
    if series is not None:
        for n, info in enumerate(infos, 1):
            if series in (info.uid, info.number, str(n)):
                if info.modality != "CT":
                    raise StudyError(f"{path}: series {series} is {info.modality}, not CT; hepcal reads CT only")
                return groups[info.key]
        raise StudyError(f"{path}: no series matches {series!r}; the folder holds:\n{listing}")
    images = [i for i in infos if i.modality not in _NOT_IMAGES]
    if not images:
        raise StudyError(f"{path}: no image series found (only {', '.join(sorted({i.modality for i in infos}))}); give a CT series")
    ct = [i for i in images if i.modality == "CT"]
    if not ct:
        mods = ", ".join(sorted({i.modality for i in images}))
        raise StudyError(f"{path}: modality {mods}, not CT; hepcal characterises calcification on CT only")
    candidates = [i for i in ct if _is_candidate(i)]
    if not candidates:
        raise StudyError(f"{path}: no axial CT series (localizers and reformats are not used); the folder holds:\n{listing}")
    if len(candidates) > 1:
        raise StudyError(
            f"{path}: {len(candidates)} axial CT series found; choose one with --series "
            f"(UID, series number or the [index]):\n{listing}"
        )
    return groups[candidates[0].key]


def read_dicom_series(path: str | Path, *, series: str | None = None) -> Volume:
    """Read one axial CT series from a folder (recursively) or a .zip into a canonical volume."""
    p = Path(path)
    with _as_files(p) as files:
        return _read_series(p, files, series)


def _read_series(p: Path, files: Path, series: str | None) -> Volume:
    headers, skipped = _read_headers(files, p.name)
    if not headers:
        extra = f" ({len(skipped)} file(s) could not be read as DICOM, e.g. {skipped[0]})" if skipped else " (it is empty)"
        raise StudyError(f"{p}: no DICOM files found{extra}; expected a folder or .zip of CT DICOM files")
    if skipped:
        logger.info("%s: %d file(s) are not DICOM and were ignored", p, len(skipped))
    members = _choose(p, _group(headers), series)
    note = f" ({len(skipped)} unreadable file(s) were ignored, e.g. {skipped[0]})" if skipped else ""
    first = members[0].ds
    if int(first.get("NumberOfFrames", 1) or 1) > 1:
        raise StudyError(f"{p}: multi-frame (enhanced) CT is not supported yet; export the series as single-frame CT images")
    if len(members) < 2:
        raise StudyError(f"{p}: the CT series has a single slice ({members[0].name}){note}; hepcal needs a 3-D series of at least 2 slices")
    return _stack(p, members, note)


def _dedupe(path: Path, members: Sequence[_Header]) -> tuple[list[_Header], list[StudyWarning]]:
    """Drop second copies of one image (same SOPInstanceUID); different images are kept."""
    seen: dict[str, str] = {}
    kept: list[_Header] = []
    copies: list[str] = []
    for h in members:
        uid = str(h.ds.get("SOPInstanceUID", "") or "")
        if uid and uid in seen:
            copies.append(f"{h.name} (= {seen[uid]})")
            continue
        if uid:
            seen[uid] = h.name
        kept.append(h)
    if not copies:
        return kept, []
    shown = ", ".join(copies[:3]) + (" …" if len(copies) > 3 else "")
    return kept, [outcome("duplicate_slice", str(path), f"{len(copies)} file(s) repeat an image already read (same SOPInstanceUID) and were ignored: {shown}")]


def _number(ds: Any, keyword: str) -> float | None | str:
    """A numeric tag: its value, ``None`` when absent, or the offending text when not a number."""
    try:
        value = ds.get(keyword)
    except (ValueError, TypeError, OverflowError):
        elem = ds.get_item(keyword)
        raw = getattr(elem, "value", b"")
        return (raw.decode("latin-1", "replace") if isinstance(raw, bytes) else str(raw)).strip()[:40] or "(unreadable)"
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)[:40]
    return number if np.isfinite(number) else str(value)


def _check_rescale(path: Path, members: Sequence[_Header]) -> None:
    """RescaleSlope and RescaleIntercept (Type 1 in the CT Image Module) present and numeric."""
    for h in members:
        if "ModalityLUTSequence" in h.ds:
            continue  # a Modality LUT maps stored values instead; pydicom applies it
        for keyword in ("RescaleIntercept", "RescaleSlope"):
            value = _number(h.ds, keyword)
            if value is None:
                outcome("rescale", str(path), (
                    f"{h.name} has no {keyword} (a required CT tag): its stored values cannot be turned into Hounsfield units "
                    "(a missing intercept typically reads the study 1,024 HU too bright); re-export the series from the scanner or PACS"
                ))
            if isinstance(value, str) or (keyword == "RescaleSlope" and value == 0):
                outcome("rescale", str(path), f"{h.name}: {keyword} is {value!r}, not a usable number; re-export the series")


def _check_pixel_spacing(path: Path, members: Sequence[_Header]) -> np.ndarray:
    """One PixelSpacing for the whole series (each slice carries its own)."""
    spacings = []
    for h in members:
        sp = _floats(h.ds.get("PixelSpacing"), 2)
        if sp is None or np.any(sp <= 0):
            raise StudyError(f"{path}: {h.name}: PixelSpacing is missing or not positive; cannot measure in millimetres")
        spacings.append(sp)
    first = spacings[0]
    tol = float(sanity_config()["geometry"].number("spacing_tolerance"))
    odd = [(h.name, sp) for h, sp in zip(members, spacings) if np.any(np.abs(sp - first) > tol * first)]
    if odd:
        name, sp = odd[0]
        outcome("geometry", str(path), (
            f"{len(odd)} slice(s) have another PixelSpacing than {members[0].name} ({first.tolist()} mm), "
            f"e.g. {name} ({sp.tolist()} mm); one series has one pixel spacing: separate or re-export the slices"
        ))
    return first


def _stack(path: Path, members: Sequence[_Header], note: str = "") -> Volume:
    import pydicom
    from pydicom.pixels import apply_modality_lut

    members, warnings = _dedupe(path, members)
    _check_rescale(path, members)
    iops, ipps = [], []
    for h in members:
        iop = _floats(h.ds.get("ImageOrientationPatient"), 6)
        ipp = _floats(h.ds.get("ImagePositionPatient"), 3)
        if iop is None or ipp is None:
            raise StudyError(f"{path}: {h.name} has no usable ImageOrientationPatient/ImagePositionPatient; cannot place the slice in the patient")
        iops.append(iop)
        ipps.append(ipp)
    iop0 = iops[0]
    if max(np.abs(i - iop0).max() for i in iops) > 1e-3:
        outcome("geometry", str(path), "the slices of the series have different orientations; it is not one volume")
    shapes = {(int(h.ds.get("Rows", 0) or 0), int(h.ds.get("Columns", 0) or 0)) for h in members}
    if len(shapes) != 1:
        outcome("geometry", str(path), f"the slices have different sizes {sorted(shapes)}; it is not one volume")
    spacing = _check_pixel_spacing(path, members)
    row_cos, col_cos = iop0[:3], iop0[3:]
    normal = np.cross(row_cos, col_cos)
    pos = np.array(ipps)
    dist = pos @ normal
    order = np.argsort(dist, kind="stable")
    dist, pos = dist[order], pos[order]
    members = [members[i] for i in order]
    gaps = np.diff(dist)
    if len(members) < 2:
        raise StudyError(f"{path}: the CT series has a single distinct slice ({members[0].name}){note}; hepcal needs a 3-D series of at least 2 slices")
    if np.any(gaps < 1e-3):
        k = int(np.argmin(gaps))
        outcome("slice_position", str(path), (
            f"two different images at the same position ({members[k].name}, {members[k + 1].name}); the folder may mix "
            "several acquisitions of one series; separate them"
        ))
    step_vectors = np.diff(pos, axis=0)
    inplane = np.linalg.norm(step_vectors - np.outer(gaps, normal), axis=1)
    tilt = float(np.degrees(np.arctan2(inplane, gaps)).max())
    if tilt > TILT_TOLERANCE_DEG:
        raise StudyError(
            f"{path}: gantry tilt of {tilt:.1f}° (slices are sheared, not stacked along their normal); "
            "reconstruct the series without tilt (or resample it to an orthogonal grid) first"
        )
    step = float(np.median(gaps))
    ratio = gaps / step
    missing = np.flatnonzero(ratio > 1.5)
    if missing.size:
        where = ", ".join(f"{round(r) - 1} between {members[k].name} and {members[k + 1].name}" for k, r in zip(missing, ratio[missing]))
        outcome("slice_position", str(path), f"slice(s) missing ({where}; spacing {step:.2f} mm){note}; give the complete series")
    uneven = float(np.abs(ratio - 1).max())
    if uneven > MAX_UNEVEN:
        outcome("slice_position", str(path), f"uneven slice spacing (gaps {gaps.min():.2f}–{gaps.max():.2f} mm); give an evenly spaced series")

    rows, cols = shapes.pop()
    slices = []
    integral = True
    for h in members:
        try:
            ds = pydicom.dcmread(h.payload)
            raw = ds.pixel_array
        except Exception as exc:
            ts = getattr(getattr(h.ds, "file_meta", None), "TransferSyntaxUID", None)
            ts_name = getattr(ts, "name", str(ts))
            raise StudyError(
                f"{path}: cannot decode the pixel data of {h.name} (transfer syntax {ts_name}): {exc}. "
                "Compressed series need pydicom's pixel-data plugins (pylibjpeg, pylibjpeg-openjpeg)."
            ) from None
        if raw.shape != (rows, cols):
            raise StudyError(f"{path}: {h.name} decodes to shape {raw.shape}, expected ({rows}, {cols})")
        if "ModalityLUTSequence" in ds:
            integral = False
        else:
            integral &= float(ds.RescaleSlope).is_integer() and float(ds.RescaleIntercept).is_integer()
        slices.append(np.asarray(apply_modality_lut(raw, ds), dtype=np.float32))
    hu = np.stack(slices)
    del slices
    # padding outside the reconstruction circle (often -2048 or -3024) is air for our purposes
    np.maximum(hu, -1024, out=hu)
    if integral and hu.max() <= 32767:
        hu = hu.astype(np.int16)
    if uneven > SPACING_TOLERANCE:
        hu = _resample_even(hu, dist, step)
        warnings.append(outcome("slice_spacing", str(path), f"uneven slice spacing (gaps {gaps.min():.2f}–{gaps.max():.2f} mm, up to {100 * uneven:.0f}% off) resampled to an even {step:.3f} mm by linear interpolation"))

    affine = np.eye(4)
    affine[:3, 0] = normal * step
    affine[:3, 1] = col_cos * spacing[0]  # row index grows along the column direction cosine
    affine[:3, 2] = row_cos * spacing[1]
    affine[:3, 3] = pos[0]
    try:
        arr, aff = canonical_orientation(hu, affine)
    except InputError as exc:
        raise SanityError("geometry", f"{path}: refused by the study check 'geometry': {exc}") from None
    if note:
        warnings.append({"check": "unreadable_files", "message": note.strip(" ()")})
    ds0 = members[0].ds
    meta = {
        "source": path.name,
        "format": "dicom",
        "modality": str(ds0.get("Modality", "")),
        "kvp": _float_or_none(ds0.get("KVP")),
        "series_description": str(ds0.get("SeriesDescription", "") or ""),
        "series_instance_uid": str(ds0.get("SeriesInstanceUID", "") or ""),
        "study_instance_uid": str(ds0.get("StudyInstanceUID", "") or ""),
        "frame_of_reference_uid": str(ds0.get("FrameOfReferenceUID", "") or ""),
        "contrast_agent": str(ds0.get("ContrastBolusAgent", "") or ""),
        "slice_thickness_mm": _float_or_none(ds0.get("SliceThickness")),
        "uneven_spacing_resampled": bool(uneven > SPACING_TOLERANCE),
        # headers (no pixels) in stacking order, for writing a DICOM SEG that references them
        "dicom_headers": tuple(h.ds for h in members),
        "warnings": tuple(warnings),
    }
    return Volume(arr, aff, meta)


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _resample_even(hu: np.ndarray, dist: np.ndarray, step: float) -> np.ndarray:
    """Linear interpolation of a slightly uneven stack onto an even grid starting at dist[0]."""
    n = int(np.floor((dist[-1] - dist[0]) / step + 1e-6)) + 1
    target = dist[0] + step * np.arange(n)
    hi = np.clip(np.searchsorted(dist, target, side="right"), 1, len(dist) - 1)
    lo = hi - 1
    w = ((target - dist[lo]) / (dist[hi] - dist[lo])).astype(np.float32)[:, None, None]
    out = hu[lo].astype(np.float32) * (1 - w) + hu[hi].astype(np.float32) * w
    return out
