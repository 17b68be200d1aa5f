"""Choose the series of a study to analyse, by the rules of ``selection.yaml``.

A PACS study often holds several CT series: scouts, several contrast phases, thin and thick
reconstructions, soft-tissue and bone kernels. The pipeline reads one; which one is decided
here from the series' headers alone (so that only that series is fetched), and the reasons are
kept for the clinician.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from hepcal import yamlfile
from hepcal.errors import InputError

__all__ = ["SeriesSummary", "Choice", "choose_series", "phase_from_header", "summarise"]

PHASE_ORDER_UNKNOWN = "unknown"


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    return yamlfile.safe_load(resources.files("hepcal.pacs").joinpath("selection.yaml").read_text("utf-8"))


@dataclass(frozen=True)
class SeriesSummary:
    """What the rules read of one series (from QIDO-RS / WADO-RS metadata or received files)."""

    uid: str
    number: int | None = None
    description: str = ""
    modality: str = ""
    image_type: tuple[str, ...] = ()
    kernel: str = ""
    thickness_mm: float | None = None
    instances: int = 0
    contrast_agent: str | None = None
    phase: str = PHASE_ORDER_UNKNOWN

    def label(self) -> str:
        bits = [f"#{self.number}" if self.number is not None else "", self.description or "(no description)",
                f"{self.thickness_mm:g} mm" if self.thickness_mm else "", self.kernel, f"{self.instances} images", self.phase]
        return " · ".join(b for b in bits if b)


@dataclass
class Choice:
    chosen: SeriesSummary
    reasons: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # series uid -> why


def _norm(text: str) -> str:
    return " " + re.sub(r"[^A-Z0-9]+", " ", text.upper()).strip() + " "


def phase_from_header(description: str) -> str:
    """The contrast phase a series' description or protocol names (``unknown`` when none).

    Only a hint for choosing what to fetch: once read, the pipeline measures the phase on the
    images themselves (aorta and liver attenuation).
    """
    text = _norm(description)
    for phase, words in rules()["phase_words"].items():
        if any(_norm(w) in text for w in words):
            return phase
    return PHASE_ORDER_UNKNOWN


def _value(item: Any, keyword: str) -> Any:
    """An attribute of a pydicom Dataset or of a DICOM JSON dict (QIDO/WADO metadata)."""
    if isinstance(item, dict):
        from pydicom.datadict import tag_for_keyword

        tag = tag_for_keyword(keyword)
        if tag is None:
            return None
        entry = item.get(f"{tag:08X}")
        if not entry or "Value" not in entry:
            return None
        values = entry["Value"]
        if entry.get("vr") == "PN":
            values = [v.get("Alphabetic", "") if isinstance(v, dict) else v for v in values]
        return values if len(values) > 1 else values[0]
    return getattr(item, keyword, None)


def summarise(series: Any, first_instance: Any | None = None, instances: int | None = None) -> SeriesSummary:
    """A :class:`SeriesSummary` from a series-level record and, when known, its first instance."""
    inst = first_instance if first_instance is not None else series

    def get(keyword: str) -> Any:
        v = _value(inst, keyword)
        return v if v is not None else _value(series, keyword)

    image_type = get("ImageType") or ()
    image_type = tuple(str(t).upper() for t in (image_type if isinstance(image_type, (list, tuple)) else str(image_type).split("\\")))
    kernel = get("ConvolutionKernel") or ""
    kernel = " ".join(kernel) if isinstance(kernel, (list, tuple)) else str(kernel)
    thick = get("SliceThickness")
    try:
        thickness = float(thick) if thick not in (None, "") else None
    except (TypeError, ValueError):
        thickness = None
    number = get("SeriesNumber")
    count = instances if instances is not None else get("NumberOfSeriesRelatedInstances")
    description = str(get("SeriesDescription") or "")
    agent = get("ContrastBolusAgent")
    return SeriesSummary(
        uid=str(get("SeriesInstanceUID") or ""),
        number=int(number) if number not in (None, "") else None,
        description=description,
        modality=str(get("Modality") or "").upper(),
        image_type=image_type,
        kernel=kernel,
        thickness_mm=thickness,
        instances=int(count or 0),
        contrast_agent=None if agent is None else str(agent),
        phase=phase_from_header(description + " " + str(get("ProtocolName") or "")),
    )


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^A-Z0-9]+", text.upper()) if t]


def _matches(words: list[str], text: str) -> bool:
    toks = _tokens(text)
    return any(t == w or (len(w) >= 3 and t.startswith(w)) for w in words for t in toks)


def _failed(rule: dict[str, Any], s: SeriesSummary) -> str | None:
    attr = rule["attribute"]
    if attr == "Modality" and s.modality != rule["equals"]:
        return f"modality {s.modality or 'unknown'}, not {rule['equals']}"
    if attr == "ImageType":
        bad = sorted(set(s.image_type) & set(rule["excludes"]))
        if bad:
            return "image type " + "/".join(bad)
    if attr == "NumberOfSeriesRelatedInstances" and s.instances and s.instances < rule["at_least"]:
        return f"{s.instances} images (fewer than {rule['at_least']})"
    return None


def _preference(rule: dict[str, Any], s: SeriesSummary) -> float:
    """Smaller is better."""
    if rule.get("reads") == "phase":
        order = rule["order"]
        return float(order.index(s.phase) if s.phase in order else len(order))
    attr = rule["attribute"]
    if attr == "ConvolutionKernel":
        if _matches(rule["prefer_words"], s.kernel):
            return 0.0
        return 2.0 if _matches(rule["avoid_words"], s.kernel) else 1.0
    if attr == "SliceThickness":
        lo, hi = rule["best_range_mm"]
        t = s.thickness_mm
        if t is None:
            return 1.0
        return 0.0 if lo <= t <= hi else 1.0 + min(abs(t - lo), abs(t - hi))
    if attr == "NumberOfSeriesRelatedInstances":
        return -float(s.instances)
    raise InputError(f"selection.yaml: rule {rule['id']!r} reads an attribute the selector does not know ({attr})")


def choose_series(candidates: list[SeriesSummary]) -> Choice:
    """The series to analyse, with the reasons, and why each other series was set aside.

    Raises
    ------
    hepcal.errors.InputError
        When no series passes the required rules (the message lists each series and why).
    """
    r = rules()
    rejected: dict[str, str] = {}
    left = []
    for s in candidates:
        why = next((w for w in (_failed(rule, s) for rule in r["require"]) if w), None)
        if why:
            rejected[s.uid] = why
        else:
            left.append(s)
    if not left:
        listed = "; ".join(f"{s.label()}: {rejected[s.uid]}" for s in candidates) or "the study holds no series"
        raise InputError(f"no series of this study can be analysed (an axial CT series of 10 or more images is needed): {listed}")
    reasons: list[str] = []
    for rule in r["prefer"]:
        if len(left) == 1:
            break
        scores = [_preference(rule, s) for s in left]
        best = min(scores)
        kept = [s for s, sc in zip(left, scores) if sc == best]
        for s, sc in zip(left, scores):
            if sc != best:
                rejected[s.uid] = f"not preferred by rule {rule['id']}: {rule['why']}"
        if len(kept) < len(left):
            reasons.append(f"{rule['id']}: {rule['why']}")
        left = kept
    chosen = sorted(left, key=lambda s: (s.number if s.number is not None else 10**9, s.uid))[0]
    for s in left:
        if s is not chosen:
            rejected[s.uid] = "equal under every rule; the lower series number was taken"
    return Choice(chosen, reasons or ["the only series that can be analysed"], rejected)
