"""What a batch amounts to: counts, calcification patterns, failures, studies to act on.

Pure functions over the per-study records, shared by ``summary.csv`` and the table the CLI
prints, so the two can never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Summary:
    studies: int = 0
    succeeded: int = 0
    failed: int = 0
    lesions: int = 0
    studies_with_lesions: int = 0
    patterns: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)
    warned: list[tuple[str, str]] = field(default_factory=list)  # (source, "check: message")
    warning_checks: Counter[str] = field(default_factory=Counter)
    not_excluded: list[tuple[str, float, int]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def all_succeeded(self) -> bool:
        return self.failed == 0


def not_excluded(lesion: Mapping[str, Any], threshold: float) -> bool:
    p = lesion.get("p_malignant")
    return p is not None and p >= threshold


def summarize(records: Iterable[Mapping[str, Any]], threshold: float) -> Summary:
    """Count ``records`` (one per study); ``threshold`` is the policy's malignancy_not_excluded."""
    s = Summary()
    for r in records:
        s.studies += 1
        s.seconds += float(r.get("seconds") or 0.0)
        if r.get("status") != "ok":
            s.failed += 1
            s.failures.append((str(r.get("source")), str(r.get("error") or "unknown error")))
            continue
        s.succeeded += 1
        for text in r.get("warnings") or []:
            s.warned.append((str(r.get("source")), str(text)))
            s.warning_checks[str(text).split(":", 1)[0]] += 1
        lesions = r.get("lesions") or []
        s.lesions += len(lesions)
        s.studies_with_lesions += bool(lesions)
        for les in lesions:
            s.patterns.update(les.get("finding.calcification") or [])
            if les.get("action"):
                s.actions[str(les["action"])] += 1
        flagged = [les for les in lesions if not_excluded(les, threshold)]
        if flagged:
            s.not_excluded.append((str(r.get("source")), max(float(les["p_malignant"]) for les in flagged), len(flagged)))
    s.failures.sort()
    s.warned.sort()
    s.not_excluded.sort(key=lambda t: (-t[1], t[0]))
    return s


def summary_rows(s: Summary) -> list[tuple[str, str, str]]:
    """``summary.csv`` as (section, item, value) rows: tidy, so any spreadsheet can pivot it."""
    rows: list[tuple[str, str, str]] = [
        ("studies", "total", str(s.studies)),
        ("studies", "succeeded", str(s.succeeded)),
        ("studies", "failed", str(s.failed)),
        ("studies", "with_warnings", str(len({src for src, _ in s.warned}))),
        ("studies", "with_lesions", str(s.studies_with_lesions)),
        ("studies", "malignancy_not_excluded", str(len(s.not_excluded))),
        ("lesions", "total", str(s.lesions)),
        ("time", "worker_seconds", f"{s.seconds:.3f}"),
    ]
    rows += [("pattern", k, str(v)) for k, v in sorted(s.patterns.items())]
    rows += [("action", k, str(v)) for k, v in sorted(s.actions.items())]
    rows += [("malignancy_not_excluded", src, f"{p:.4f}") for src, p, _ in s.not_excluded]
    rows += [("failed", src, err) for src, err in s.failures]
    rows += [("warning", src, text) for src, text in s.warned]
    return rows
