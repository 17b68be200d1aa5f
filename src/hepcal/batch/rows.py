"""Flattening one study's findings.json into table rows (pure functions, no I/O).

A lesion row carries every finding key of the case format as its own typed column
(``finding.calcification`` as a list, ``finding.size_mm`` as a number…), the top diagnoses with
their probabilities, P(malignant) and the recommended action, so that a cohort can be filtered
and counted without re-reading thousands of JSON files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hepcal.findings import contract

#: How many diagnoses of each lesion's differential get their own columns.
TOP_DIAGNOSES = 3
#: Keys of a findings.json lesion copied as they are (names kept, so the two read alike).
LESION_FACTS = ("calcification_volume_mm3", "centroid_mm_lps", "centroid_voxel", "key_image")


def finding_columns() -> list[str]:
    return [k for k in sorted(contract().fields) if k.startswith("finding.")]


def malignancy_threshold() -> float:
    """P(malignant) from which the policy says malignancy cannot be excluded."""
    from hepcal.knowledge import load

    return float(load().policy.malignancy_not_excluded.value)


def lesion_row(index: int, lesion: Mapping[str, Any]) -> dict[str, Any]:
    finding = lesion.get("finding") or {}
    a = lesion.get("assessment") or {}
    row: dict[str, Any] = {"lesion": lesion.get("id", index)}
    for col in finding_columns():
        row[col] = finding.get(col.split(".", 1)[1])
    for name in LESION_FACTS:
        row[name] = lesion.get(name)
    diff = a.get("differential") or []
    for i in range(TOP_DIAGNOSES):
        d = diff[i] if i < len(diff) else {}
        row[f"dx{i + 1}"] = d.get("id")
        row[f"dx{i + 1}_name"] = d.get("name")
        row[f"dx{i + 1}_p"] = d.get("probability")
    rec = a.get("recommendation") or {}
    row["p_malignant"] = a.get("malignancy_probability")
    row["doubtful"] = a.get("doubtful")
    row["action"] = rec.get("action")
    row["rule"] = rec.get("rule")
    return row


def lesion_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [lesion_row(i, les) for i, les in enumerate(result.get("lesions") or [], start=1)]


def warning_texts(result: Mapping[str, Any]) -> list[str]:
    """The study-check warnings of a scan as ``check: message`` strings (one table cell each)."""
    return [f"{w.get('check')}: {w.get('message')}" for w in result.get("warnings") or []]


def study_fields(result: Mapping[str, Any]) -> dict[str, Any]:
    """The per-study facts of a scan worth a column: phase, threshold, where the liver came
    from, and the study-check warnings (a study is never ``ok`` with a warning out of sight)."""
    phase = result.get("phase") or {}
    threshold = result.get("threshold") or {}
    liver = result.get("liver") or {}
    detected = phase.get("detected") or {}
    return {
        "phase": phase.get("used"),
        "phase_detected": detected.get("phase"),
        "aorta_hu": detected.get("aorta_hu"),
        "candidate_hu": threshold.get("candidate_hu"),
        "threshold_hu": threshold.get("definite_hu"),
        "liver_source": liver.get("source"),
        "liver_volume_ml": liver.get("volume_ml"),
        "warnings": warning_texts(result),
    }
