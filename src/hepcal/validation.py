"""Accuracy of the engine on labelled cases (``hepcal validate``).

Each line of a validation file is ``{"case": {...}, "diagnosis": "<id>", "source": "..."}``.
The metrics are those a reader needs to judge decision support: how often the right answer is
first or in the first three, whether malignant cases are flagged, whether benign ones are sent
to a needle, and whether the stated probabilities mean what they say (Brier score, calibration).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from hepcal.errors import InputError
from hepcal.findings.io import iter_jsonl
from hepcal.findings.model import CaseError, parse_case
from hepcal.knowledge import KnowledgeBase
from hepcal.reasoning import assess
from hepcal.reasoning.network import network
from hepcal.reasoning.recommendation import most_invasive

FLAG_ACTIONS = ("biopsy", "surgical_referral")
CALIBRATION_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0000001)


@dataclass(frozen=True)
class LabelledCase:
    line: int
    case: Any
    diagnosis: str
    source: str
    id: str | None = None


@dataclass(frozen=True)
class Outcome:
    case: LabelledCase
    rank: int
    probability: float  # P(true diagnosis)
    top: str
    top_probability: float
    malignancy: float
    action: str
    true_malignant: bool
    probabilities: dict[str, float]


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return summarise(self.outcomes, self.errors)


def read_labelled(stream: IO[str] | list[str], where: str, kb: KnowledgeBase | None = None) -> Iterator[LabelledCase | InputError]:
    """Yield labelled cases, or an InputError for a line that is malformed."""
    ids = set(network(kb).ids)
    for line in iter_jsonl(stream, where):
        if line.error is not None:
            yield line.error
            continue
        rec = line.record
        at = f"{where}:{line.number}"
        if not isinstance(rec, dict) or not {"case", "diagnosis", "source"} <= rec.keys():
            yield InputError(f"{at}: expected an object with keys case, diagnosis, source")
            continue
        if rec["diagnosis"] not in ids:
            yield InputError(f"{at}: diagnosis {rec['diagnosis']!r} is not a known id; allowed: {', '.join(sorted(ids))}")
            continue
        if not str(rec["source"]).strip():
            yield InputError(f"{at}: source is empty; every labelled case needs its citation")
            continue
        try:
            case = parse_case(rec["case"], where=at)
        except CaseError as exc:
            yield exc
            continue
        yield LabelledCase(line.number, case, rec["diagnosis"], str(rec["source"]), rec.get("id"))


def evaluate(cases: Iterable[LabelledCase | InputError], kb: KnowledgeBase | None = None) -> Report:
    net = network(kb)
    report = Report()
    for item in cases:
        if isinstance(item, InputError):
            report.errors.append(str(item))
            continue
        a = assess(item.case, net.kb)
        truth = net.kb.diagnosis(item.diagnosis)
        report.outcomes.append(Outcome(
            case=item,
            rank=a.rank_of(item.diagnosis),
            probability=a.probability_of(item.diagnosis),
            top=a.top.id,
            top_probability=a.top.probability,
            malignancy=a.malignancy_probability,
            action=most_invasive(a.recommendation),
            true_malignant=truth.malignant.p >= 0.5,
            probabilities={e.id: e.probability for e in a.differential},
        ))
    return report


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def summarise(outcomes: list[Outcome], errors: list[str] | None = None) -> dict[str, Any]:
    n = len(outcomes)
    malignant = [o for o in outcomes if o.true_malignant]
    benign = [o for o in outcomes if not o.true_malignant]
    flagged = [o for o in malignant if o.malignancy >= 0.10 or o.action in FLAG_ACTIONS]
    benign_biopsy = [o for o in benign if o.action in FLAG_ACTIONS]
    brier = [sum((p - (1.0 if d == o.case.diagnosis else 0.0)) ** 2 for d, p in o.probabilities.items()) for o in outcomes]
    calibration = []
    for lo, hi in zip(CALIBRATION_BINS, CALIBRATION_BINS[1:]):
        inside = [o for o in outcomes if lo <= o.top_probability < hi]
        if inside:
            calibration.append({
                "bin": f"{lo:.1f}-{min(hi, 1.0):.1f}",
                "n": len(inside),
                "mean_confidence": sum(o.top_probability for o in inside) / len(inside),
                "top1_accuracy": sum(o.rank == 1 for o in inside) / len(inside),
            })
    ece = sum(abs(b["mean_confidence"] - b["top1_accuracy"]) * b["n"] for b in calibration) / n if n else None
    per: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        per[o.case.diagnosis].append(o)
    per_diagnosis = {
        d: {"n": len(os), "top1": _ratio(sum(o.rank == 1 for o in os), len(os)),
            "top3": _ratio(sum(o.rank <= 3 for o in os), len(os)),
            "mean_rank": sum(o.rank for o in os) / len(os)}
        for d, os in sorted(per.items())
    }
    return {
        "n": n,
        "errors": list(errors or []),
        "top1": _ratio(sum(o.rank == 1 for o in outcomes), n),
        "top3": _ratio(sum(o.rank <= 3 for o in outcomes), n),
        "mean_rank": (sum(o.rank for o in outcomes) / n) if n else None,
        "malignant_cases": len(malignant),
        "malignant_flagged": _ratio(len(flagged), len(malignant)),
        "benign_cases": len(benign),
        "benign_sent_to_biopsy": _ratio(len(benign_biopsy), len(benign)),
        "brier": (sum(brier) / n) if n else None,
        "expected_calibration_error": ece,
        "calibration": calibration,
        "per_diagnosis": per_diagnosis,
        "cases": [{"line": o.case.line, "id": o.case.id, "diagnosis": o.case.diagnosis, "rank": o.rank,
                   "probability": o.probability, "top": o.top, "action": o.action,
                   "malignancy_probability": o.malignancy} for o in outcomes],
    }
