"""Study sanity checks: refuse a CT study that would give a confident wrong answer.

Every check is named, has a severity, a reason and its sources in ``sanity.yaml``. A check
that fails with severity ``fail`` raises :class:`SanityError` (an :class:`InputError`, so the
CLI exits 2 and a batch records the study as failed) whose message names the check; one with
severity ``warn`` returns a ``{"check", "message"}`` record that the pipeline carries into
``findings.json`` (``warnings``), the batch tables and the reports. The readers call
:func:`outcome` for what only they can see (rescale tags, per-slice geometry, NIfTI scaling);
:func:`check_volume` and :func:`check_liver_mask` look at the voxels before any analysis.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import numpy as np
import scipy.ndimage as ndi
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepcal import yamlfile
from hepcal.errors import HepcalError, InputError

__all__ = ["SanityError", "StudyError", "StudyWarning", "check_hu_range", "check_liver_mask", "check_volume", "outcome", "sanity_config"]

StudyWarning = dict[str, str]  # {"check": name, "message": text}; the shape findings.json carries


class StudyError(InputError):
    """A study cannot be read as one CT volume."""


class SanityError(StudyError):
    """A study failed a named sanity check (``check``)."""

    def __init__(self, check: str, message: str):
        self.check = check
        super().__init__(message)


class Check(BaseModel):
    """One check: severity, why it exists, sources, and its own numbers (extra keys)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    severity: Literal["fail", "warn"]
    reason: str = Field(min_length=20)
    refs: tuple[str, ...] = Field(min_length=1)

    def number(self, name: str) -> Any:
        return (self.model_extra or {})[name]


class SanityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    references: dict[str, str]
    checks: dict[str, Check]

    @model_validator(mode="after")
    def _refs_known(self) -> SanityConfig:
        unknown = sorted({r for c in self.checks.values() for r in c.refs} - set(self.references) - {"estimate"})
        if unknown:
            raise ValueError(f"references used but not listed: {unknown}")
        return self

    def __getitem__(self, name: str) -> Check:
        return self.checks[name]


class SanityConfigError(HepcalError):
    """``sanity.yaml`` does not validate (a packaging or editing error)."""


@lru_cache(maxsize=1)
def sanity_config() -> SanityConfig:
    """The shipped checks (validated once, then cached)."""
    return yamlfile.load_packaged("hepcal.imaging", "sanity.yaml", SanityConfig, SanityConfigError)


def outcome(check: str, where: str, message: str) -> StudyWarning:
    """The result of a check that found a problem: raise if its severity is ``fail``, else a warning."""
    if sanity_config()[check].severity == "fail":
        raise SanityError(check, f"{where}: refused by the study check '{check}': {message}")
    return {"check": check, "message": message}


# ---------------------------------------------------------------------------- the volume


def _sample(array: np.ndarray, max_planes: int = 48) -> np.ndarray:
    """Evenly spaced planes: the HU statistics need a sample, not every voxel."""
    step = max(1, array.shape[0] // max_planes)
    return np.asarray(array[::step], dtype=np.float32)


def _peak(values: np.ndarray, lo: float, hi: float, bin_hu: float = 4.0) -> float:
    hist, edges = np.histogram(values, bins=np.arange(lo, hi + bin_hu, bin_hu))
    hist = ndi.uniform_filter1d(hist.astype(float), 3)
    k = int(np.argmax(hist))
    return float(edges[k] + bin_hu / 2)


def _geometry(spacing: np.ndarray, shape: tuple[int, ...], where: str) -> list[StudyWarning]:
    cfg = sanity_config()
    vs = cfg["voxel_size"]
    lo, hi = float(vs.number("min_mm")), float(vs.number("max_mm"))
    found: list[StudyWarning] = []
    if np.any(spacing < lo) or np.any(spacing > hi):
        found.append(outcome("voxel_size", where, f"voxel size {[float(f'{s:.4g}') for s in spacing]} mm (plane, row, column); each must be {lo:g}–{hi:g} mm"))
    ext = cfg["extent"]
    extent = spacing * np.array(shape)
    if np.any(extent > float(ext.number("max_mm"))) or np.any(extent[1:] < float(ext.number("min_inplane_mm"))):
        found.append(outcome(
            "extent", where,
            f"the volume measures {' × '.join(f'{e:.0f}' for e in extent)} mm; at most {ext.number('max_mm'):g} mm on any axis "
            f"and at least {ext.number('min_inplane_mm'):g} mm in plane are plausible for an abdomen",
        ))
    return found


def _stripes(array: np.ndarray, where: str) -> list[StudyWarning]:
    c = sanity_config()["stripe"]
    sat = np.asarray(array) >= float(c.number("saturated_hu"))
    if not sat.any():
        return []
    frac = float(c.number("min_line_fraction"))
    rows = sat.mean(axis=2) >= frac
    cols = sat.mean(axis=1) >= frac
    planes = np.flatnonzero(rows.any(axis=1) | cols.any(axis=1))
    if not planes.size:
        return []
    return [outcome(
        "stripe", where,
        f"{planes.size} plane(s) (index {planes[0]}–{planes[-1]}, inferior→superior) hold image lines over {100 * frac:.0f}% at or above "
        f"{c.number('saturated_hu'):g} HU, crossing the air around the patient: corrupt data or an artefact; re-export or reconstruct the series",
    )]


def check_hu_range(array: np.ndarray, where: str) -> list[StudyWarning]:
    """Refuse arrays that are plainly not CT in HU (e.g. MR, raw stored values, masks)."""
    rng = sanity_config()["hu_range"]
    lo, hi = np.percentile(_sample(array), [0.5, 99.5])
    if lo > float(rng.number("max_low_percentile_hu")) or hi < float(rng.number("min_high_percentile_hu")) or hi > float(rng.number("max_high_percentile_hu")):
        return [outcome("hu_range", where, (
            f"values ({lo:.0f} to {hi:.0f} in the 0.5–99.5 percentiles) do not look like CT Hounsfield units "
            "(air about -1000, soft tissue 0–100); give a CT volume in HU"
        ))]
    return []


def _calibration_peak(check: str, values: np.ndarray, window: tuple[float, float], bin_hu: float, enough: bool, where: str) -> list[StudyWarning] | None:
    """The ``check`` on the peak of ``values`` in ``window``; ``None`` when there is too little to judge."""
    if not enough:
        return None
    peak = _peak(values, window[0], window[1], bin_hu)
    lo, hi = (float(x) for x in sanity_config()[check].number("peak_hu"))
    if lo <= peak <= hi:
        return []
    tissue = check.removeprefix("hu_")
    return [outcome(check, where, (
        f"the {tissue} peak is at {peak:.0f} HU, expected {lo:g} to {hi:g} HU: the values are scaled or shifted "
        "(check RescaleSlope/RescaleIntercept or scl_slope/scl_inter)"
    ))]


def _hounsfield(array: np.ndarray, where: str) -> list[StudyWarning]:
    """The HU scale: values span air to tissue, fat and air sit where they must, bone is there."""
    cfg = sanity_config()
    found = check_hu_range(array, where)
    sample = _sample(array)
    fat = cfg["hu_fat"]
    window = tuple(float(x) for x in fat.number("search_hu"))
    body = sample[sample > -500]
    fat_vals = body[(body > window[0]) & (body < window[1])]
    air_vals = sample[(sample >= -1500) & (sample <= -500)]
    results = {
        "fat": _calibration_peak("hu_fat", fat_vals, window, 4.0, body.size > 0 and fat_vals.size >= float(fat.number("min_body_fraction")) * body.size, where),  # type: ignore[arg-type]
        "air": _calibration_peak("hu_air", air_vals, (-1500.0, -500.0), 10.0, air_vals.size >= float(cfg["hu_air"].number("min_fraction")) * sample.size, where),
    }
    unverified = [name for name, r in results.items() if r is None]
    bone = cfg["hu_unverified"]
    if not body.size or (body >= float(bone.number("bone_hu"))).mean() < float(bone.number("min_bone_fraction")):
        unverified.append("bone")
    found += [w for r in results.values() if r for w in r]
    if unverified:
        found.append(outcome("hu_unverified", where, f"too little {', '.join(unverified)} in the field of view to verify the HU calibration"))
    return found


def check_volume(volume: Any, where: str | None = None) -> list[StudyWarning]:
    """Geometry, stripes and HU plausibility of a CT volume; raises :class:`SanityError` on a failed check."""
    name = where or str(volume.metadata.get("source") or "the study")
    found = _geometry(np.asarray(volume.spacing), volume.shape, name)
    found += _stripes(volume.array, name)
    found += _hounsfield(volume.array, name)
    return found


# ---------------------------------------------------------------------------- the liver mask


def check_liver_mask(volume: Any, mask: np.ndarray, source: str) -> list[StudyWarning]:
    """Is ``mask`` a liver of this CT: plausible volume, soft tissue under it, homogeneous?"""
    cfg = sanity_config()
    where = f"liver mask ({source})"
    ml = float(mask.sum()) * float(volume.voxel_volume_mm3) / 1000.0
    vol = cfg["liver_volume"]
    found: list[StudyWarning] = []
    if not float(vol.number("min_ml")) <= ml <= float(vol.number("max_ml")):
        found.append(outcome("liver_volume", where, f"the mask holds {ml:,.0f} ml; a liver is {vol.number('min_ml'):g} to {vol.number('max_ml'):,.0f} ml"))
    elif ml > float(vol.number("warn_ml")):
        found.append({"check": "liver_volume", "message": f"the liver measures {ml:,.0f} ml, more than {vol.number('warn_ml'):,.0f} ml: check the outline"})
    values = np.asarray(volume.array)[mask].astype(np.float32)
    tissue = cfg["liver_tissue"]
    below = float((values < float(tissue.number("below_hu"))).mean())
    if below > float(tissue.number("max_fraction")):
        found.append(outcome(
            "liver_tissue", where,
            f"{100 * below:.1f}% of the mask is fat or air (below {tissue.number('below_hu'):g} HU; at most "
            f"{100 * float(tissue.number('max_fraction')):g}% allowed): it does not lie on the liver of this CT "
            "(shifted, flipped, or of another study)",
        ))
    hom = cfg["liver_homogeneity"]
    band = float((np.abs(values - np.median(values)) <= float(hom.number("band_hu"))).mean())
    if band < float(hom.number("min_fraction")):
        found.append(outcome(
            "liver_homogeneity", where,
            f"only {100 * band:.0f}% of the mask lies within {hom.number('band_hu'):g} HU of its median: misplaced mask or large lesions; check the outline",
        ))
    return found
