"""Reading a CSV manifest: one study per row, with its mask and clinical context.

Columns: ``study`` (required: a NIfTI file, a .zip or a DICOM folder, relative to the
manifest's folder or absolute), ``mask`` and ``mask_label`` (optional liver mask), and any key of
the case format (``patient.age_years``, ``history.chronic_liver_disease``…) whose cell is applied
to every lesion found in that study. An unknown column is the user's mistake and stops the
batch before anything runs; a bad *value* only fails its own row.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hepcal.batch.discover import NON_IMAGE_MODALITIES, dicom_series, is_nifti, read_header
from hepcal.batch.keys import DigestCache, content_key, path_key, with_context
from hepcal.batch.study import Study
from hepcal.errors import InputError
from hepcal.findings import CaseError, apply_overrides, contract, parse_case

STUDY_COLUMNS = ("study", "mask", "mask_label")
#: A stand-in finding so that a row's context can be validated before any scan exists.
_PLACEHOLDER_FINDING = {"finding": {"modality": ["ct"]}}


def allowed_columns() -> list[str]:
    return [*STUDY_COLUMNS, *sorted(contract().fields)]


def check_columns(header: list[str] | None, where: str) -> list[str]:
    """The context columns of a manifest header; raises InputError naming any bad column."""
    if not header:
        raise InputError(f"{where}: empty manifest; expected a header row with a 'study' column")
    names = [h.strip() for h in header]
    fields = contract().fields
    unknown = [n for n in names if n not in STUDY_COLUMNS and n not in fields]
    if unknown:
        raise InputError(
            f"{where}: unknown manifest column(s) {', '.join(repr(u) for u in unknown)}; allowed: {', '.join(allowed_columns())}"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{where}: column(s) {', '.join(dupes)} appear more than once")
    if "study" not in names:
        raise InputError(f"{where}: the manifest needs a 'study' column (a NIfTI file, .zip or DICOM folder per row)")
    return [n for n in names if n in fields]


def _context_problem(overrides: list[str]) -> str | None:
    try:
        parse_case(apply_overrides(_PLACEHOLDER_FINDING, overrides))
    except CaseError as exc:
        return "; ".join(str(p) for p in exc.problems)
    return None


def _study_of(path: Path, cell: str, cache: DigestCache) -> tuple[str, str, str | None, str | None]:
    """(kind, study key, series uid, problem) of the study a row points to."""
    if not path.exists():
        return "unknown", path_key("missing", str(path)), None, f"{cell}: no such file or folder"
    if path.is_dir():
        headers = [h for f in sorted(path.rglob("*")) if f.is_file() and (h := read_header(f)) is not None]
        studies = dicom_series([h for h in headers if h.modality.upper() not in NON_IMAGE_MODALITIES], path, cache)
        if not studies:
            return "dicom", path_key("dicom", str(path)), None, f"{cell}: no DICOM image series in this folder"
        if len(studies) == 1:
            return "dicom", studies[0].study_key, studies[0].series_uid, None
        ct = {h.uid for h in headers if h.modality.upper() == "CT"}
        chosen = [s for s in studies if s.series_uid in ct]
        if len(chosen) == 1:
            return "dicom", chosen[0].study_key, chosen[0].series_uid, None
        return "dicom", path_key("dicom", str(path)), None, f"{cell}: the folder holds {len(studies)} image series; give one series folder per row"
    kind = "nifti" if is_nifti(path) else "zip" if path.suffix.lower() == ".zip" else "dicom"
    try:
        return kind, content_key(cache.digest(path)), None, None
    except OSError as exc:
        return kind, path_key(kind, str(path)), None, f"{cell}: cannot be read ({exc.strerror})"


def _row_study(n: int, row: dict[str, str], context_cols: list[str], base: Path, cache: DigestCache) -> Study:
    cell = (row.get("study") or "").strip()
    if not cell:
        key = path_key("row", f"{base}:{n}")
        return Study(key=key, study_key=key, source=f"row {n}", kind="unknown", path="", row=n, problem=f"row {n}: the 'study' cell is empty")
    path = Path(cell) if Path(cell).is_absolute() else base / cell
    kind, study_key, uid, problem = _study_of(path, cell, cache)
    problems = [problem] if problem else []
    mask_cell = (row.get("mask") or "").strip()
    mask = mask_digest = None
    if mask_cell:
        mask_path = Path(mask_cell) if Path(mask_cell).is_absolute() else base / mask_cell
        mask = str(mask_path)
        try:
            mask_digest = cache.digest(mask_path)
        except OSError:
            problems.append(f"mask {mask_cell}: no such file or not readable")
    label_cell = (row.get("mask_label") or "").strip()
    label = None
    if label_cell:
        try:
            label = int(label_cell)
            if label < 1:
                raise ValueError
        except ValueError:
            problems.append(f"mask_label {label_cell!r} is not allowed; expected a whole number ≥ 1")
        if not mask_cell:
            problems.append("mask_label is given without a mask")
    if row.get("__extra__"):
        problems.append(f"row {n} has more cells than the header has columns")
    overrides = tuple(f"{c}={row[c].strip()}" for c in context_cols if (row.get(c) or "").strip())
    bad = _context_problem(list(overrides))
    if bad:
        problems.append(bad)
    key = with_context(study_key, mask_digest=mask_digest, mask_label=label, overrides=overrides)
    return Study(
        key=key,
        study_key=study_key,
        source=cell,
        kind=kind,  # type: ignore[arg-type]
        path=str(path),
        series_uid=uid,
        mask=mask,
        mask_label=label,
        overrides=overrides,
        row=n,
        problem="; ".join(problems) or None,
    )


def read_manifest(path: str | Path, *, cache: DigestCache | None = None) -> list[Study]:
    """One :class:`Study` per data row of a CSV manifest, in file order.

    Raises
    ------
    InputError
        When the file cannot be read or a column is not allowed (nothing has run yet).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such manifest file; expected a .csv with columns {', '.join(STUDY_COLUMNS)} and case-format keys")
    cache = cache or DigestCache(None)
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            context_cols = check_columns(reader.fieldnames, str(p))
            rows = list(reader)
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text; a manifest is a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise InputError(f"{p}: not a valid CSV file ({exc})") from None
    base = p.resolve().parent
    # header is line 1, so the first data row is line 2: numbers match a spreadsheet's
    return [_row_study(n, _clean(row), context_cols, base, cache) for n, row in enumerate(rows, start=2)]


def _clean(row: dict) -> dict[str, str]:
    out = {k.strip(): v for k, v in row.items() if k is not None}
    if row.get(None):
        out["__extra__"] = "yes"
    return out
