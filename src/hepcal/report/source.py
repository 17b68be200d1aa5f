"""What a report is made from: one assessed case, or every lesion of a scan's findings.json.

Both end as a :class:`ReportSource` holding, per lesion, the contract's assessment output
(``Assessment.to_dict()``), so every writer works on one shape whatever the input was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hepcal.errors import InputError
from hepcal.findings import load_case, parse_case
from hepcal.knowledge import KnowledgeBase
from hepcal.reasoning import Assessment, assess
from hepcal.reasoning.network import network

CASE_SECTIONS = ("patient", "history", "labs", "finding")


@dataclass(frozen=True)
class Lesion:
    """One assessed lesion (a case is a single lesion)."""

    number: int
    assessment: dict[str, Any]
    volume_mm3: float | None = None
    max_hu: float | None = None
    centroid_mm: tuple[float, float, float] | None = None
    key_image: Path | None = None
    segment_number: int | None = None

    @property
    def case(self) -> dict[str, Any]:
        return self.assessment.get("case", {})


@dataclass(frozen=True)
class ReportSource:
    """Everything the writers need, already assessed."""

    kind: Literal["case", "scan"]
    name: str  # file or study name, shown in the report header (never logged)
    lesions: tuple[Lesion, ...]
    knowledge_base: dict[str, str]
    scan: dict[str, Any] = field(default_factory=dict)  # phase, threshold, liver source, ...
    study: Path | None = None  # the DICOM study a scan was made from (for the SR)
    seg: Path | None = None  # the calcification SEG the scan wrote, when there is one
    findings_dir: Path | None = None  # where findings.json and its images are


def from_case(case: Any, kb: KnowledgeBase, *, name: str = "case") -> ReportSource:
    """Assess a case (a mapping in the case format or a validated case) for a report."""
    return from_assessment(assess(case, kb), name=name)


def from_assessment(a: Assessment, *, name: str = "case") -> ReportSource:
    """A report source from an assessment already made (``hepcal assess --report``)."""
    return ReportSource("case", name, (Lesion(1, a.to_dict()),), dict(a.knowledge_base))


def _as_case(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A lesion's case: either a whole case or only its ``finding`` section."""
    if any(k in finding for k in CASE_SECTIONS):
        return dict(finding)
    return {"finding": dict(finding)}


def _triple(value: Any) -> tuple[float, float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 3:
        return (float(value[0]), float(value[1]), float(value[2]))
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _lesion(number: int, raw: Mapping[str, Any], kb: KnowledgeBase, base: Path) -> Lesion:
    stored = raw.get("assessment")
    if isinstance(stored, Mapping) and stored.get("knowledge_base", {}).get("version") == network(kb).version:
        assessment = dict(stored)
    else:  # missing, or made with another knowledge base: assess again so the report is consistent
        finding = raw.get("case") or raw.get("finding")
        if not isinstance(finding, Mapping):
            raise InputError(f"lesion {number} of the findings file has neither an assessment nor a finding")
        assessment = assess(parse_case(_as_case(finding)), kb).to_dict()
    finding = assessment.get("case", {}).get("finding", {})
    image = raw.get("key_image")
    return Lesion(
        number=int(raw.get("id", number)) if isinstance(raw.get("id"), int) else number,
        assessment=assessment,
        volume_mm3=_number(raw.get("calcification_volume_mm3", raw.get("volume_mm3"))),
        max_hu=_number(raw.get("max_hu", finding.get("max_hu"))),
        centroid_mm=_triple(raw.get("centroid_mm_lps", raw.get("centroid_mm"))),
        key_image=(base / str(image)) if image else None,
        segment_number=raw.get("segment_number") if isinstance(raw.get("segment_number"), int) else None,
    )


def from_findings(path: str | Path, kb: KnowledgeBase, *, study: str | Path | None = None) -> ReportSource:
    """Read a scan's findings.json (``hepcal scan``) with every lesion assessed.

    ``study`` is the DICOM folder the scan read (findings.json records only its name); the SR
    needs it. Without it, a study path in findings.json is used when it exists.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise InputError(f"{p.name}: cannot be read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{p.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("lesions"), list):
        raise InputError(f"{p.name}: not a findings file of hepcal scan (expected an object with a 'lesions' list)")
    base = p.parent
    lesions = tuple(_lesion(i, raw, kb, base) for i, raw in enumerate(data["lesions"], start=1))
    scan = {k: v for k, v in data.items() if k != "lesions"}
    if study is None:
        study = scan.get("study")
    if isinstance(study, Mapping):  # hepcal scan writes {"source": <path>, "format": ..., ...}
        study = study.get("source") if study.get("format", "dicom") != "nifti" else None
    seg = scan.get("dicom_seg") or scan.get("seg")
    study_path = Path(str(study)) if study else None
    if study_path is not None and not study_path.exists() and (base / study_path).exists():
        study_path = base / study_path  # written relative to the findings file
    return ReportSource(
        kind="scan",
        name=study_path.name if study_path else p.parent.name,
        lesions=lesions,
        knowledge_base={"version": network(kb).version, "name": kb.manifest.name},
        scan=scan,
        study=study_path,
        seg=(base / str(seg)) if seg else None,
        findings_dir=base,
    )


def load_source(path: str | Path, kb: KnowledgeBase, *, study: str | Path | None = None) -> ReportSource:
    """A case file (.yaml/.json case) or a scan's findings.json, told apart by content."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            data = None
        if isinstance(data, Mapping) and "lesions" in data:
            return from_findings(p, kb, study=study)
    return from_case(load_case(p), kb, name=p.name)
