"""The CT pipeline's numbers, read once from ``thresholds.yaml`` and validated.

Thresholds are data with their citations, not constants buried in code, so a reader can see
where each number comes from and a site can review them without reading the algorithms.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepcal import yamlfile
from hepcal.errors import HepcalError

__all__ = ["PHASES", "Phase", "ImagingConfig", "PhaseThreshold", "imaging_config"]

Phase = Literal["unenhanced", "arterial", "portal", "delayed"]
PHASES: tuple[str, ...] = ("unenhanced", "arterial", "portal", "delayed")

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class PhaseThreshold(BaseModel):
    model_config = _FROZEN
    candidate_hu: float = Field(ge=100, le=3000)
    definite_hu: float = Field(ge=100, le=3000)
    refs: tuple[str, ...]
    basis: str

    @model_validator(mode="after")
    def _order(self) -> PhaseThreshold:
        if self.definite_hu < self.candidate_hu:
            raise ValueError("definite_hu must be >= candidate_hu")
        return self


class Calcification(BaseModel):
    model_config = _FROZEN
    unenhanced: PhaseThreshold
    arterial: PhaseThreshold
    portal: PhaseThreshold
    delayed: PhaseThreshold
    vessel_margin_hu: float = Field(ge=0)
    vessel_margin_basis: str

    def for_phase(self, phase: str) -> PhaseThreshold:
        return getattr(self, phase)


class Mimics(BaseModel):
    model_config = _FROZEN
    lipiodol_hu: float
    dense_lipiodol_hu: float
    lipiodol_refs: tuple[str, ...]
    lipiodol_basis: str
    metal_hu: float
    metal_basis: str
    streak_dark_hu: float
    streak_basis: str


class PhaseRules(BaseModel):
    model_config = _FROZEN
    unenhanced_below_hu: float
    arterial_aorta_above_hu: float
    arterial_aorta_minus_liver_hu: float
    delayed_below_hu: float
    basis: str


class LiverSegmentation(BaseModel):
    model_config = _FROZEN
    working_spacing_mm: float = Field(gt=0)
    smoothing_sigma_mm: float = Field(ge=0)
    body_threshold_hu: float
    body_rim_mm: float = Field(ge=0)
    histogram_range_hu: tuple[float, float]
    core_tolerance_hu: float = Field(gt=0)
    core_opening_mm: float = Field(ge=0)
    local_mean_sigma_mm: float = Field(gt=0)
    grow_tolerance_hu: float = Field(gt=0)
    grow_distance_mm: float = Field(ge=0)
    final_opening_mm: float = Field(ge=0)
    closing_mm: float = Field(ge=0)
    lesion_delta_hu: float = Field(gt=0)
    lesion_floor_hu: float
    enclosure_reach_mm: float = Field(gt=0)
    enclosure_min: float = Field(gt=0, le=1)
    enclosure_opening_mm: float = Field(ge=0)
    basis: str


class Detection(BaseModel):
    model_config = _FROZEN
    liver_margin_mm: float = Field(ge=0)
    min_volume_mm3: float = Field(ge=0)
    outside_extent_mm: float = Field(gt=0)
    min_inside_fraction: float = Field(ge=0, le=1)
    surround_mm: float = Field(gt=0)
    surround_tolerance_mm: float = Field(ge=0)
    min_liver_surround: float = Field(ge=0, le=1)
    outside_min_peak_hu: float = Field(ge=0)
    bay_closing_mm: float = Field(ge=0)
    basis: str


class Characterisation(BaseModel):
    model_config = _FROZEN
    working_grid_mm: float = Field(gt=0)
    smoothing_sigma_mm: float = Field(ge=0)
    hypo_delta_hu: float = Field(gt=0)
    region_sigma_mm: float = Field(gt=0)
    region_min_delta_hu: float = Field(gt=0)
    region_t: float = Field(gt=0)
    noise_correlation_voxels: float = Field(ge=1)
    faint_reach_mm: float = Field(gt=0)
    faint_surround: float = Field(gt=0, le=1)
    surround_mm: tuple[float, float]
    faint_growth: float = Field(ge=1)
    region_basis: str
    reference_sigma_mm: float = Field(gt=0)
    fat_floor_hu: float
    tissue_opening_mm: float = Field(ge=0)
    touch_mm: float = Field(ge=0)
    group_distance_mm: float = Field(ge=0)
    min_tissue_volume_mm3: float = Field(ge=0)
    min_tissue_to_calcium: float = Field(ge=0)
    fluid_max_hu: float
    mixed_fluid_fraction: tuple[float, float]
    diffuse_min_foci: int = Field(ge=2)
    diffuse_max_focus_mm: float = Field(gt=0)
    dots_max_focus_mm: float = Field(gt=0)
    subcapsular_mm: float = Field(ge=0)
    central_depth_fraction: float = Field(gt=0, le=1)
    branch_min_mm: float = Field(gt=0)
    thin_max_mm: float = Field(gt=0)
    thin_max_voxels: float = Field(gt=0)
    dot_max_mm: float = Field(gt=0)
    dot_max_voxels: float = Field(gt=0)
    count_few_max: int = Field(ge=2)
    count_multiple_max: int = Field(ge=3)
    basis: str


class Condition(BaseModel):
    """One test on a named lesion feature: ``feature`` compared with ``ge``/``le``/``in``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    feature: str
    ge: float | None = None
    le: float | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")

    def holds(self, features: dict[str, float | str | bool]) -> bool:
        v = features[self.feature]
        if self.in_ is not None and v not in self.in_:
            return False
        if self.ge is not None and not (float(v) >= self.ge):
            return False
        if self.le is not None and not (float(v) <= self.le):
            return False
        return True


class PatternRule(BaseModel):
    """A rule names one pattern, or (``pattern: uncertain``) the candidates it cannot tell apart."""

    model_config = _FROZEN
    pattern: str
    when: tuple[Condition, ...]
    why: str
    candidates: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _uncertain_has_candidates(self) -> PatternRule:
        if (self.pattern == "uncertain") != (len(self.candidates) >= 2):
            raise ValueError(f"rule {self.pattern!r}: 'uncertain' needs two or more candidates, and only it may have them")
        return self


class PatternRules(BaseModel):
    """Ordered rules: the first rule whose conditions all hold names the lesion's pattern."""

    model_config = _FROZEN
    features: dict[str, str]
    rules: tuple[PatternRule, ...]

    @model_validator(mode="after")
    def _known_features(self) -> PatternRules:
        unknown = sorted({c.feature for r in self.rules for c in r.when} - set(self.features))
        if unknown:
            raise ValueError(f"rules use undeclared features: {unknown}")
        return self


class ImagingConfig(BaseModel):
    model_config = _FROZEN
    version: int
    references: dict[str, str]
    calcification: Calcification
    mimics: Mimics
    phase: PhaseRules
    liver_segmentation: LiverSegmentation
    detection: Detection
    characterisation: Characterisation
    patterns: PatternRules

    @model_validator(mode="after")
    def _refs_known(self) -> ImagingConfig:
        used = [r for p in PHASES for r in self.calcification.for_phase(p).refs] + list(self.mimics.lipiodol_refs)
        unknown = sorted(set(used) - set(self.references))
        if unknown:
            raise ValueError(f"references used but not listed: {unknown}")
        return self


class ImagingConfigError(HepcalError):
    """``thresholds.yaml`` does not validate (a packaging or editing error)."""


@lru_cache(maxsize=1)
def imaging_config() -> ImagingConfig:
    """The shipped configuration (validated once, then cached)."""
    return yamlfile.load_packaged("hepcal.imaging", "thresholds.yaml", ImagingConfig, ImagingConfigError)
