"""A lesion's enhancement pattern from its attenuation in several contrast phases.

Calcium is found on the unenhanced series, where it is most specific; the same lesion is then
measured in every other phase of the study, brought onto the unenhanced grid through patient
coordinates (series of one frame of reference need no registration). The medians of the
lesion's wall, its core and the surrounding liver in each phase decide the case format's
``finding.enhancement`` by the rules of ``enhancement.yaml``; the measurements stay in the
findings for the clinician to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from hepcal import yamlfile
from hepcal.imaging.characterisation import Lesion
from hepcal.imaging.morphology import distance_to
from hepcal.imaging.volume import Volume

__all__ = ["PhaseMeasurement", "classify", "measure_lesion", "rules"]

LATER = ("portal", "delayed")


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    return yamlfile.safe_load(resources.files("hepcal.imaging").joinpath("enhancement.yaml").read_text("utf-8"))


@dataclass
class PhaseMeasurement:
    """Medians (HU) of one lesion's regions in one phase, and the voxel-wise enhancement maps."""

    lesion_hu: float
    rim_hu: float | None
    core_hu: float | None
    liver_hu: float | None
    values: np.ndarray | None = field(default=None, repr=False)  # the lesion box in this phase

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(float(v), 1)  # noqa: E731
        return {"lesion_hu": r(self.lesion_hu), "rim_hu": r(self.rim_hu), "core_hu": r(self.core_hu), "liver_hu": r(self.liver_hu)}


def _sample(volume: Volume, reference: Volume, box: tuple[slice, ...]) -> np.ndarray:
    """``volume`` on the reference grid's ``box`` (trilinear, through patient coordinates)."""
    if volume.shape == reference.shape and np.allclose(volume.affine, reference.affine, atol=1e-3):
        return volume.array[box].astype(np.float32)
    grid = np.stack(np.meshgrid(*[np.arange(s.start, s.stop) for s in box], indexing="ij"), -1).reshape(-1, 3)
    lps = reference.index_to_lps(grid)
    idx = volume.lps_to_index(lps)
    out = ndi.map_coordinates(volume.array.astype(np.float32), idx.T, order=1, mode="nearest")
    return out.reshape(tuple(s.stop - s.start for s in box))


def _outline(seed: np.ndarray, values: list[np.ndarray], liver: np.ndarray, spacing: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """The whole lesion, from its attenuation course across the phases.

    A single phase may show a mass only faintly (a hypodense mass 10-20 HU below the liver in a
    noise of 10-15 HU); across several phases a lesion's course differs from the liver's in most
    of them. Each voxel's distance from the liver's course (in units of the liver's own spread,
    per phase, on lightly smoothed images) is thresholded, and the parts that touch the
    calcification and its tissue make the lesion.
    """
    from hepcal.imaging.morphology import closing

    near = distance_to(seed, spacing, cfg["liver_ring_mm"][1] + 1.0)
    ref = liver & (near > cfg["liver_ring_mm"][0])
    if ref.sum() < cfg["min_voxels"]:
        return ndi.binary_fill_holes(closing(seed, cfg["close_mm"], spacing))
    z = np.zeros(seed.shape, np.float32)
    for v in values:
        centre = float(np.median(v[ref]))
        spread = max(1.4826 * float(np.median(np.abs(v[ref] - centre))), 1.0)
        z += ((v - centre) / spread) ** 2
    z = np.sqrt(z / len(values))
    from hepcal.imaging.morphology import ball

    # an opening cuts the thin vessels that leave the liver's course next to a lesion
    lab, _ = ndi.label(ndi.binary_opening(z > cfg["course_z"], ball(cfg["open_mm"], spacing)) | seed)
    touching = np.unique(lab[seed & (lab > 0)])
    region = np.isin(lab, touching) & (near <= cfg["max_extent_mm"])
    return ndi.binary_fill_holes(closing(region | seed, cfg["close_mm"], spacing))


def _regions(outline: np.ndarray, calcium: np.ndarray, liver_box: np.ndarray, spacing: np.ndarray, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """Masks on the measuring box: whole lesion, its wall, its core, and the liver ring around it."""
    inside = distance_to(~outline, spacing, cfg["rim_mm"] + 1.0)  # depth below the lesion's surface
    calcium_near = distance_to(calcium, spacing, cfg["calcium_margin_mm"] + 1.0) <= cfg["calcium_margin_mm"]
    outside = distance_to(outline, spacing, cfg["liver_ring_mm"][1] + 1.0)
    lo, hi = cfg["liver_ring_mm"]
    soft = outline & ~calcium_near
    return {
        "lesion": soft,
        "rim": soft & (inside <= cfg["rim_mm"]),
        "core": soft & (inside > cfg["rim_mm"]),
        "liver": liver_box & ~outline & (outside >= lo) & (outside <= hi),
    }


def _median(values: np.ndarray, mask: np.ndarray, n: int) -> float | None:
    return float(np.median(values[mask])) if int(mask.sum()) >= n else None


def _grow_box(box: tuple[slice, ...], shape: tuple[int, ...], spacing: np.ndarray, mm: float) -> tuple[slice, ...]:
    pads = [int(np.ceil(mm / s)) for s in spacing]
    return tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pads, shape))


def measure_lesion(lesion: Lesion, reference: Volume, liver: np.ndarray, phases: dict[str, Volume]) -> dict[str, Any] | None:
    """Measure ``lesion`` in the reference (unenhanced) series and in every other phase.

    Returns ``{"phases": {phase: medians}, "enhancement": value or None, "why": text}``, or None
    for a calcification without soft tissue, neither found by characterisation nor grown from
    the phases around it (nothing to enhance).
    """
    cfg = rules()["measure"]
    sp = reference.spacing
    box = _grow_box(lesion.box, reference.shape, sp, cfg["max_extent_mm"] + cfg["liver_ring_mm"][1])
    off = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(lesion.box, box))
    shape = tuple(s.stop - s.start for s in box)
    calcium = _place(lesion.calcium, off, shape)
    seed = _place(lesion.tissue, off, shape) | calcium
    raw = {phase: _sample(volume, reference, box) for phase, volume in (("unenhanced", reference), *sorted(phases.items()))}
    smooth = {phase: ndi.uniform_filter(v, 3) for phase, v in raw.items()}
    # the course map uses a median filter: unlike a mean it is not pulled up next to calcium
    outline = _outline(seed, [ndi.median_filter(v, 3) for v in raw.values()], liver[box], sp, cfg)
    if (outline & ~calcium).sum() < cfg["min_voxels"]:
        return None  # calcium alone (no tissue found, none grown around it): nothing to enhance
    reg = _regions(outline, calcium, liver[box], sp, cfg)
    n = int(cfg["min_voxels"])
    out: dict[str, PhaseMeasurement] = {}
    for phase, v in raw.items():
        out[phase] = PhaseMeasurement(
            lesion_hu=float(np.median(v[reg["lesion"]])) if reg["lesion"].any() else float("nan"),
            rim_hu=_median(v, reg["rim"], n), core_hu=_median(v, reg["core"], n), liver_hu=_median(v, reg["liver"], n),
            values=smooth[phase],
        )
    cls, why = classify(out, reg)
    return {"phases": {p: m.to_dict() for p, m in out.items()}, "enhancement": cls, "why": why}


def _place(mask: np.ndarray, off: tuple[slice, ...], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, bool)
    out[off] = mask
    return out


def _features(m: dict[str, PhaseMeasurement], reg: dict[str, np.ndarray]) -> dict[str, float | bool | None]:
    """The quantities the rules read (None when a phase or region is missing).

    Enhancement is read voxel by voxel as the (smoothed) difference from the unenhanced series:
    the calcium, identical in every phase, cancels out of it.
    """
    cfg = rules()["measure"]
    n = int(cfg["min_voxels"])
    u = m["unenhanced"]
    later = [p for p in LATER if p in m]
    enhanced = [p for p in ("arterial", *LATER) if p in m]
    gain = {p: m[p].values - u.values for p in enhanced}
    core = reg["core"] if reg["core"].sum() >= n else reg["lesion"]  # a small lesion is all wall
    med = lambda p, mask: float(np.median(gain[p][mask])) if mask.sum() >= n else None  # noqa: E731
    rel = lambda p: (None if m[p].liver_hu is None else m[p].lesion_hu - m[p].liver_hu)  # noqa: E731
    f: dict[str, Any] = {}
    core_e = [v for v in (med(p, core) for p in enhanced) if v is not None]
    rim_e = [v for v in (med(p, reg["rim"]) for p in enhanced) if v is not None]
    f["max_enhancement_core"] = max(core_e) if core_e else None
    f["max_enhancement_rim"] = max(rim_e) if rim_e else None
    f["median_enhancement_core"] = float(np.median(core_e)) if core_e else None
    top = np.max([gain[p] for p in enhanced], axis=0) if enhanced else None
    thr = cfg["enhancing_hu"]
    frac = lambda mask: float(np.mean(top[mask] > thr)) if top is not None and mask.sum() >= n else None  # noqa: E731
    f["enhancing_fraction_rim"] = frac(reg["rim"])
    f["enhancing_fraction_core"] = frac(reg["core"])
    if "arterial" in m:
        f["arterial_relative"] = rel("arterial")
        a_core = med("arterial", core)
        if reg["rim"].sum() >= n and a_core is not None:
            f["arterial_rim_peak_minus_core"] = float(np.percentile(gain["arterial"][reg["rim"]], cfg["peak_percentile"])) - a_core
            fills = [v for v in (med(p, core) for p in later) if v is not None]
            f["fill_in_core"] = max(fills) - a_core if fills else None
    later_rel = [rel(p) for p in later if rel(p) is not None]
    f["later_relative"] = min(later_rel) if later_rel else None
    if "delayed" in m:
        f["delayed_enhancement"] = m["delayed"].lesion_hu - u.lesion_hu
        steps = [m[p].lesion_hu for p in ("arterial", "portal", "delayed") if p in m]
        f["rising"] = all(b >= a_ - 3.0 for a_, b in zip(steps, steps[1:])) and steps[-1] > steps[0]
    return f


def _holds(cond: dict[str, Any], f: dict[str, Any]) -> bool | None:
    """True / False, or None when a quantity it reads is unknown."""
    for key, limit in cond.items():
        if key == "rising":
            if f.get("rising") is None:
                return None
            if bool(f["rising"]) is not bool(limit):
                return False
            continue
        name, _, side = key.rpartition("_")
        value = f.get(name)
        if value is None:
            return None
        if (side == "above" and not value > limit) or (side == "below" and not value < limit):
            return False
    return True


def _has(need: str, phases: set[str]) -> bool:
    return bool(phases & set(LATER)) if need == "portal_or_delayed" else need in phases


def classify(m: dict[str, PhaseMeasurement], reg: dict[str, np.ndarray]) -> tuple[str | None, str]:
    """The first rule of ``enhancement.yaml`` that holds, or (None, why not)."""
    f = _features(m, reg)
    present = set(m) - {"unenhanced"}
    if not present:
        return None, "only the unenhanced series: enhancement needs a contrast-enhanced phase"
    undecided = []
    for rule in rules()["rules"]:
        if not all(_has(n, present) for n in rule["needs"]):
            continue
        held = _holds(rule["when"], f)
        if held:
            return rule["enhancement"], rule["why"]
        if held is None:
            undecided.append(rule["id"])
    return None, "no enhancement rule holds with the phases available (" + ", ".join(sorted(present)) + ")" + (f"; undecided: {', '.join(undecided)}" if undecided else "")
