"""A generated corpus of broken or odd CT studies, each with the outcome hepcal must give.

Every corruption that once gave a confident wrong answer, a traceback or a memory blow-up is
built here from a phantom with known lesions (``hepcal.imaging.phantom``) and, when
``../shared/data`` is present, from the real example studies. A :class:`Case` says what must
happen: ``fail`` (refused, exit 2, with ``expect`` in the message, usually the check's name),
``warn`` (analysed, with that check among the warnings and the same lesions as the clean
study) or ``ok`` (analysed, no warning, same lesions).
"""

from __future__ import annotations

import gzip
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

from hepcal.imaging.dicom_series import write_ct_series
from hepcal.imaging.phantom import LesionSpec, make_phantom
from hepcal.imaging.volume import ras_to_lps


@dataclass(frozen=True)
class Case:
    name: str
    study: Path
    outcome: str  # "fail" | "warn" | "ok"
    expect: str | None = None  # text the error names (fail) or the warning's check (warn)
    mask: Path | None = None
    label: int | None = None
    same_lesions_as: str = "phantom"  # which clean study the lesions must match (warn/ok)
    #: False when the warning says the voxels were changed (resampled): then the same lesions
    #: must be found at the same places, but a borderline pattern may be named differently
    exact: bool = True


def _save_nifti(array: np.ndarray, affine_lps: np.ndarray, path: Path, **header: float) -> Path:
    img = nib.Nifti1Image(array, ras_to_lps(affine_lps))
    for key, value in header.items():
        img.header[key] = value
    nib.save(img, str(path))
    return path


def _dicom_variant(base: Path, dest: Path, edit: Callable[[list[pydicom.Dataset], list[Path]], None]) -> Path:
    shutil.copytree(base, dest)
    files = sorted(f for f in dest.iterdir() if f.is_file())
    dss = [pydicom.dcmread(f) for f in files]
    series = pydicom.uid.generate_uid(entropy_srcs=[dest.name])  # each variant is its own series
    for ds, f in zip(dss, files):
        ds.SeriesInstanceUID = series
        ds.save_as(f, enforce_file_format=True)
    edit(dss, files)
    for ds, f in zip(dss, files):
        if f.exists():
            ds.save_as(f, enforce_file_format=True)
    return dest


def _set(keyword: str, value: object, which: slice | list[int] | None = None) -> Callable[[list[pydicom.Dataset], list[Path]], None]:
    def edit(dss: list[pydicom.Dataset], files: list[Path]) -> None:
        idx = range(len(dss)) if which is None else (which if isinstance(which, list) else range(len(dss))[which])
        for i in idx:
            setattr(dss[i], keyword, value)
    return edit


def _delete(keyword: str, which: list[int] | None = None) -> Callable[[list[pydicom.Dataset], list[Path]], None]:
    def edit(dss: list[pydicom.Dataset], files: list[Path]) -> None:
        for i in which if which is not None else range(len(dss)):
            delattr(dss[i], keyword)
    return edit


def _slope_abc(folder: Path) -> Path:
    """RescaleSlope 'abc' (pydicom refuses to write it, some exporters do): patched in the bytes."""
    tag = b"\x28\x00\x53\x10DS\x02\x00"  # (0028,1053) DS, explicit VR little endian, 2 bytes
    for f in folder.glob("*.dcm"):
        data = f.read_bytes()
        i = data.index(tag + b"1 ")
        f.write_bytes(data[:i] + b"\x28\x00\x53\x10DS\x04\x00abc " + data[i + len(tag) + 2:])
    return folder


def _stripe(dss: list[pydicom.Dataset], files: list[Path]) -> None:
    for ds in dss[len(dss) // 2: len(dss) // 2 + 3]:
        arr = ds.pixel_array.copy()
        arr[arr.shape[0] // 2 - 3: arr.shape[0] // 2 + 3, :] = 3071
        ds.PixelData = arr.astype(np.int16).tobytes()


def _drop(index: int) -> Callable[[list[pydicom.Dataset], list[Path]], None]:
    def edit(dss: list[pydicom.Dataset], files: list[Path]) -> None:
        files[index].unlink()
    return edit


def _duplicate_file(dss: list[pydicom.Dataset], files: list[Path]) -> None:
    shutil.copy(files[5], files[5].with_name("copy-of-" + files[5].name))


def _same_position_new_uid(dss: list[pydicom.Dataset], files: list[Path]) -> None:
    ds = pydicom.dcmread(files[5])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(files[5].with_name("other-" + files[5].name), enforce_file_format=True)


def _jitter(dss: list[pydicom.Dataset], files: list[Path]) -> None:
    rng = np.random.default_rng(1)
    step = float(dss[1].ImagePositionPatient[2]) - float(dss[0].ImagePositionPatient[2])
    for k, ds in enumerate(dss[1:-1], start=1):
        pos = [float(x) for x in ds.ImagePositionPatient]
        pos[2] += float(rng.uniform(-0.06, 0.06)) * step
        ds.ImagePositionPatient = [f"{x:.4f}" for x in pos]


def _unsigned_with_intercept(dss: list[pydicom.Dataset], files: list[Path]) -> None:
    for ds in dss:
        arr = ds.pixel_array.astype(np.int32) + 1024
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = "-1024"
        ds.PixelData = arr.astype(np.uint16).tobytes()


def _other_size(dss: list[pydicom.Dataset], files: list[Path]) -> None:
    ds = dss[4]
    arr = ds.pixel_array[:-2, :]
    ds.Rows = arr.shape[0]
    ds.PixelData = np.ascontiguousarray(arr).tobytes()


def _truncate(dss: list[pydicom.Dataset], files: list[Path]) -> None:
    dss[3].save_as(files[3], enforce_file_format=True)
    data = files[3].read_bytes()
    files[3].write_bytes(data[: len(data) - 5000])
    files.pop(3)
    dss.pop(3)


def _zip(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return dest


def _encrypted_zip(folder: Path, dest: Path) -> Path:
    """A zip whose entries carry the 'encrypted' flag (as a password-protected archive's do)."""
    _zip(folder, dest)
    data = bytearray(dest.read_bytes())
    for sig, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            flags = struct.unpack_from("<H", data, i + flag_offset)[0]
            struct.pack_into("<H", data, i + flag_offset, flags | 0x1)
            start = i + 4
    dest.write_bytes(bytes(data))
    return dest


def _bomb_zip(dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("IM0001.dcm", b"\x00" * (64 * 1024 * 1024))
    return dest


def _many_entries_zip(dest: Path, n: int = 5001) -> Path:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"IM{i:05d}.dcm", b"x")
    return dest


def _absurd_dims(dest: Path) -> Path:
    img = nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4))
    raw = bytearray(img.header.binaryblock)
    struct.pack_into("<8h", raw, 40, 3, 30000, 30000, 30000, 1, 1, 1, 1)  # dim[0..7]
    dest.write_bytes(gzip.compress(bytes(raw) + b"\0" * 4 + b"\0" * 128))
    return dest


def _truncated_gz(src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def build(
    root: Path,
    shared: Path | None = None,
    *,
    phase: str = "unenhanced",
    lesions: tuple[LesionSpec, ...] = (LesionSpec("rim", 30), LesionSpec("dense_nodular", 10)),
    seed: int = 3,
    spacing: tuple[float, float, float] = (3.0, 2.0, 2.0),
) -> list[Case]:
    """Write every corpus study under ``root``; the real-data cases need ``shared`` (the example folder).

    The phantom's phase, lesions, seed and spacing vary in the longer run (``make fuzz-ct``).
    """
    root.mkdir(parents=True, exist_ok=True)
    ph = make_phantom(phase=phase, lesions=list(lesions), seed=seed, spacing=spacing)
    vol, aff = ph.volume.array, ph.volume.affine
    clean = _save_nifti(vol, aff, root / "phantom.nii.gz")
    mask = _save_nifti(ph.liver.astype(np.uint8), aff, root / "phantom_liver.nii.gz")
    dcm = root / "phantom_dcm"
    write_ct_series(ph.volume, dcm, seed="corpus")
    cases = [Case("phantom", clean, "ok", mask=mask), Case("phantom-dicom", dcm, "ok", mask=mask)]

    def dv(name: str, edit: Callable[[list[pydicom.Dataset], list[Path]], None], outcome: str, expect: str | None) -> None:
        cases.append(Case(name, _dicom_variant(dcm, root / name, edit), outcome, expect, mask=mask))

    # --- DICOM rescale, geometry, slice positions, pixels
    dv("dcm-no-intercept", _delete("RescaleIntercept"), "fail", "'rescale'")
    dv("dcm-no-intercept-one-slice", _delete("RescaleIntercept", [7]), "fail", "'rescale'")
    dv("dcm-no-slope", _delete("RescaleSlope"), "fail", "'rescale'")
    cases.append(Case("dcm-slope-abc", _slope_abc(_dicom_variant(dcm, root / "dcm-slope-abc", lambda d, f: None)), "fail", "'rescale'", mask=mask))
    dv("dcm-slope-0", _set("RescaleSlope", "0"), "fail", "'rescale'")
    dv("dcm-slope-2", _set("RescaleSlope", "2"), "fail", "'hu_fat'")
    dv("dcm-intercept-shift", _set("RescaleIntercept", "-1024"), "fail", "'hu_range'")
    dv("dcm-unsigned-intercept", _unsigned_with_intercept, "ok", None)
    dv("dcm-one-slice-spacing", _set("PixelSpacing", ["2.5", "2.5"], [9]), "fail", "'geometry'")
    dv("dcm-one-slice-orientation", _set("ImageOrientationPatient", ["1", "0", "0", "0", "0.9", "0.43589"], [9]), "fail", "'geometry'")
    dv("dcm-one-slice-size", _other_size, "fail", "'geometry'")
    dv("dcm-huge-pixels", _set("PixelSpacing", ["1000000", "1000000"]), "fail", "'voxel_size'")
    dv("dcm-duplicate-file", _duplicate_file, "warn", "duplicate_slice")
    dv("dcm-two-images-one-position", _same_position_new_uid, "fail", "'slice_position'")
    dv("dcm-missing-slice", _drop(20), "fail", "'slice_position'")
    cases.append(Case("dcm-uneven-spacing", _dicom_variant(dcm, root / "dcm-uneven-spacing", _jitter), "warn", "slice_spacing", mask=mask, exact=False))
    dv("dcm-saturated-stripe", _stripe, "fail", "'stripe'")
    dv("dcm-truncated-file", _truncate, "fail", "cannot decode the pixel data")
    extra = _dicom_variant(dcm, root / "dcm-extra-file", lambda d, f: None)
    (extra / "README.txt").write_text("notes, not an image\n")
    cases.append(Case("dcm-extra-file", extra, "warn", "unreadable_files", mask=mask))
    # --- zips
    cases.append(Case("zip-good", _zip(dcm, root / "good.zip"), "ok", mask=mask))
    cases.append(Case("zip-encrypted", _encrypted_zip(dcm, root / "encrypted.zip"), "fail", "encrypted", mask=mask))
    cases.append(Case("zip-bomb", _bomb_zip(root / "bomb.zip"), "fail", "zip bomb"))
    cases.append(Case("zip-too-many-entries", _many_entries_zip(root / "many.zip"), "fail", "entries"))
    # --- NIfTI
    cases.append(Case("nii-scl-slope-2", _save_nifti(vol, aff, root / "slope2.nii.gz", scl_slope=2.0, scl_inter=0.0), "fail", "'hu_", mask=mask))
    cases.append(Case("nii-scl-inter-1024", _save_nifti(vol, aff, root / "inter.nii.gz", scl_slope=1.0, scl_inter=1024.0), "fail", "'hu_range'", mask=mask))
    cases.append(Case("nii-scl-slope-huge", _save_nifti(vol, aff, root / "slopehuge.nii.gz", scl_slope=1e6, scl_inter=0.0), "fail", "'nifti_scaling'", mask=mask))
    huge = aff.copy()
    huge[:3, :3] *= 1e6 / np.linalg.norm(aff[:3, :3], axis=0)
    cases.append(Case("nii-voxel-1e6-mm", _save_nifti(vol, huge, root / "huge.nii.gz"), "fail", "'voxel_size'"))
    singular = aff.copy()
    singular[:3, 2] = singular[:3, 1]
    cases.append(Case("nii-singular-affine", _save_nifti(vol, singular, root / "singular.nii.gz"), "fail", "'geometry'"))
    stripe = vol.copy()
    stripe[20:23, 60:64, :] = 3071
    cases.append(Case("nii-saturated-stripe", _save_nifti(stripe, aff, root / "stripe.nii.gz"), "fail", "'stripe'", mask=mask))
    cases.append(Case("nii-absurd-dims", _absurd_dims(root / "absurd.nii.gz"), "fail", "voxels; at most"))
    cases.append(Case("nii-truncated", _truncated_gz(clean, root / "truncated.nii.gz"), "fail", "truncated"))
    # --- liver masks
    liver = ph.liver.astype(np.uint8)
    shifted = aff.copy()
    shifted[0, 3] -= 40.0  # 40 mm towards the patient's right, out of the body
    cases.append(Case("mask-shifted-40mm", clean, "fail", "'liver_tissue'", mask=_save_nifti(liver, shifted, root / "mask_shifted.nii.gz")))
    for axis, name in ((1, "anterior"), (2, "superior")):
        moved = aff.copy()
        moved[axis, 3] += -40.0 if axis == 1 else 40.0  # LPS: -y is anterior, +z superior
        cases.append(Case(f"mask-shifted-40mm-{name}", clean, "fail", "'liver_tissue'", mask=_save_nifti(liver, moved, root / f"mask_{name}.nii.gz")))
    cases.append(Case("mask-all-ones", clean, "fail", "'liver_", mask=_save_nifti(np.ones_like(liver), aff, root / "mask_ones.nii.gz")))
    flipped = np.ascontiguousarray(liver[:, :, ::-1])
    cases.append(Case("mask-left-right-flipped", clean, "fail", "'liver_tissue'", mask=_save_nifti(flipped, aff, root / "mask_flipped.nii.gz")))
    sing = aff.copy()
    sing[:3, 0] = sing[:3, 1]
    cases.append(Case("mask-singular-affine", clean, "fail", "affine", mask=_save_nifti(liver, sing, root / "mask_singular.nii.gz")))
    if shared is not None:
        cases.append(Case("mask-of-another-study", clean, "fail", "liver mask", mask=shared / "ct_small_labels.nii.gz", label=5))
        cases += _real(root / "real", shared)
    return cases


def _real(root: Path, shared: Path) -> list[Case]:
    """Corruptions of the real example studies (no lesion in either: the right answer is none)."""
    root.mkdir(parents=True, exist_ok=True)
    small, labels, series = shared / "ct_small.nii.gz", shared / "ct_small_labels.nii.gz", shared / "ct_dicom"
    img = nib.load(str(small))
    data = np.asanyarray(img.dataobj)
    lab = nib.load(str(labels))
    cases = [Case("real-small", small, "ok", mask=labels, label=5, same_lesions_as="real-small")]
    slope2 = nib.Nifti1Image(data, img.affine, img.header.copy())
    slope2.header.set_slope_inter(2.0, 0.0)
    nib.save(slope2, str(root / "small_slope2.nii.gz"))
    cases.append(Case("real-small-scl-slope-2", root / "small_slope2.nii.gz", "fail", "'hu_", mask=labels, label=5))
    moved = lab.affine.copy()
    moved[0, 3] += 40.0
    nib.save(nib.Nifti1Image(np.asanyarray(lab.dataobj), moved), str(root / "small_labels_shifted.nii.gz"))
    cases.append(Case("real-small-mask-shifted-40mm", small, "fail", "'liver_tissue'", mask=root / "small_labels_shifted.nii.gz", label=5))
    nib.save(nib.Nifti1Image(np.ones(lab.shape, np.uint8), lab.affine), str(root / "small_ones.nii.gz"))
    cases.append(Case("real-small-mask-all-ones", small, "fail", "'liver_", mask=root / "small_ones.nii.gz"))

    def dv(name: str, edit: Callable[[list[pydicom.Dataset], list[Path]], None], expect: str) -> None:
        cases.append(Case(name, _dicom_variant(series, root / name, edit), "fail", expect))

    dv("real-dicom-no-intercept", _delete("RescaleIntercept"), "'rescale'")
    dv("real-dicom-one-slice-spacing", _set("PixelSpacing", ["0.8", "0.8"], [10]), "'geometry'")
    dv("real-dicom-missing-slice", _drop(10), "'slice_position'")
    return cases
