"""Finding the studies in a folder: NIfTI files, .zip archives and DICOM series.

DICOM files are grouped by SeriesInstanceUID from headers read without pixel data, wherever
they sit in the tree, so a series split over several folders is still one study and a folder
holding several series gives several studies. Files that are neither (notes, spreadsheets,
images) are ignored and counted; a ``.dcm`` file that cannot be read is a broken study and is
reported as such rather than silently dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hepcal.batch.keys import DigestCache, content_key, path_key, series_key, with_context
from hepcal.batch.study import Study
from hepcal.errors import InputError

#: DICOM modalities that are never an image series to scan (segmentations, reports, plans).
NON_IMAGE_MODALITIES = frozenset({"SEG", "SR", "KO", "PR", "RTSTRUCT", "REG", "DOC", "RTPLAN", "RTDOSE"})
_HEADER_TAGS = ["SeriesInstanceUID", "Modality", "SeriesNumber"]


@dataclass
class Discovery:
    """What a search found: the studies, and what was left aside with the reason."""

    studies: list[Study] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DicomHeader:
    file: Path
    uid: str
    modality: str


def is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".nii", ".nii.gz"))


def _walk(root: Path, exclude: Path | None) -> Iterator[Path]:
    """Files under ``root`` in a stable order, skipping hidden entries and ``exclude``."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and (exclude is None or (here / d).resolve() != exclude))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield here / name


def read_header(file: Path) -> DicomHeader | None:
    """The series identity of a DICOM file, or None when it is not DICOM (pixels never read)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(file, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
    except (InvalidDicomError, EOFError, OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return DicomHeader(file, str(ds.get("SeriesInstanceUID", "") or ""), str(ds.get("Modality", "") or ""))


def _common_folder(files: Sequence[Path]) -> Path:
    return Path(os.path.commonpath([str(f.parent) for f in files]))


def _rel(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return str(path)
    return "." if str(rel) == "." else rel.as_posix()


def dicom_series(headers: Sequence[DicomHeader], root: Path, cache: DigestCache) -> list[Study]:
    """One study per image series among ``headers``; files without a UID group by folder."""
    groups: dict[tuple[str, str], list[DicomHeader]] = defaultdict(list)
    for h in headers:
        if h.modality.upper() in NON_IMAGE_MODALITIES:
            continue
        groups[(h.uid, "" if h.uid else str(h.file.parent))].append(h)
    per_folder: dict[Path, int] = defaultdict(int)
    folders = {g: _common_folder([h.file for h in members]) for g, members in groups.items()}
    for folder in folders.values():
        per_folder[folder] += 1
    studies = []
    for (uid, _), members in sorted(groups.items(), key=lambda kv: (str(folders[kv[0]]), kv[0])):
        folder = folders[(uid, _)]
        source = _rel(folder, root)
        if uid:
            key = series_key(uid)
            if per_folder[folder] > 1:
                source = f"{source}#{uid}"
        else:
            # no UID (anonymisers sometimes blank it): the content of the files identifies it
            h = hashlib.sha256()
            for m in sorted(members, key=lambda m: m.file):
                h.update(cache.digest(m.file).encode())
            key = content_key(h.hexdigest())
        studies.append(Study(key=key, study_key=key, source=source, kind="dicom", path=str(folder), series_uid=uid or None))
    return studies


def discover(root: str | Path, *, exclude: str | Path | None = None, cache: DigestCache | None = None) -> Discovery:
    """Every study under ``root`` (searched recursively), in a stable order.

    Raises
    ------
    InputError
        When ``root`` is not a folder.
    """
    base = Path(root)
    if not base.exists():
        raise InputError(f"{base}: no such folder; give a folder of studies or a CSV manifest")
    if not base.is_dir():
        raise InputError(f"{base}: not a folder or a .csv manifest; give a folder of studies (NIfTI, DICOM, .zip) or a manifest.csv")
    cache = cache or DigestCache(None)
    skip = Path(exclude).resolve() if exclude is not None else None
    found = Discovery()
    headers: list[DicomHeader] = []
    for f in _walk(base, skip):
        rel = _rel(f, base)
        if is_nifti(f) or f.suffix.lower() == ".zip":
            kind = "nifti" if is_nifti(f) else "zip"
            try:
                key = content_key(cache.digest(f))
                problem = None
            except OSError as exc:
                key, problem = path_key(kind, str(f)), f"{rel}: cannot be read ({exc.strerror})"
            found.studies.append(Study(key=key, study_key=key, source=rel, kind=kind, path=str(f), problem=problem))
            continue
        h = read_header(f)
        if h is not None and h.modality.upper() in NON_IMAGE_MODALITIES:
            found.ignored.append(f"{rel}: DICOM {h.modality}, not an image series")
        elif h is not None:
            headers.append(h)
        elif f.suffix.lower() == ".dcm":
            try:
                key = content_key(cache.digest(f))
            except OSError:
                key = path_key("dicom", str(f))
            found.studies.append(Study(key=key, study_key=key, source=rel, kind="dicom", path=str(f), problem=f"{rel}: not a readable DICOM file (empty, truncated or not DICOM)"))
        else:
            found.ignored.append(f"{rel}: not NIfTI, .zip or DICOM")
    found.studies.extend(dicom_series(headers, base, cache))
    _pair_liver_masks(found, cache)
    found.studies.sort(key=lambda s: s.source)
    return found


#: A NIfTI named ``<stem>`` + this suffix beside ``<stem>.nii[.gz]`` is that study's liver mask
#: (as ``hepcal phantom`` writes it), not a study of its own.
LIVER_SUFFIX = "_liver"


def _nifti_stem(path: str) -> str:
    name = Path(path).name
    return name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else name[: -len(".nii")]


def _pair_liver_masks(found: Discovery, cache: DigestCache) -> None:
    """Give each NIfTI study the ``<stem>_liver.nii[.gz]`` mask lying beside it."""
    by_stem = {(str(Path(s.path).parent), _nifti_stem(s.path)): s for s in found.studies if s.kind == "nifti" and s.problem is None}
    paired: dict[str, Study] = {}  # mask path -> its study
    for (folder, stem), mask in by_stem.items():
        study = by_stem.get((folder, stem[: -len(LIVER_SUFFIX)])) if stem.endswith(LIVER_SUFFIX) else None
        if study is not None:
            paired[mask.path] = study
    if not paired:
        return
    with_mask = {
        study.path: replace(study, mask=mask_path, key=with_context(study.study_key, mask_digest=cache.digest(mask_path), mask_label=None, overrides=()))
        for mask_path, study in paired.items()
    }
    kept = []
    for s in found.studies:
        if s.path in paired and s.kind == "nifti":
            found.ignored.append(f"{s.source}: liver mask of the study beside it")
        else:
            kept.append(with_mask.get(s.path, s) if s.kind == "nifti" else s)
    found.studies = kept
