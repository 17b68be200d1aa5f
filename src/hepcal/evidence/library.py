"""Read and validate the case library (the I/O edge of ``hepcal.evidence``).

Every problem is reported with its file, line and key, all problems of a load at once, so an
encoder can fix a file in one pass. A case's ``case`` object is validated by the contract in the
tree (``findings/contract.yaml``): whatever keys that contract declares are accepted, nothing is
hard-coded here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hepcal import yamlfile
from hepcal.errors import InputError
from hepcal.evidence.models import CaseRecord, SeriesCount
from hepcal.findings.contract import contract
from hepcal.findings.io import iter_jsonl
from hepcal.findings.model import CaseError, parse_case

CASES, HOLDOUT, SERIES = "cases", "holdout", "series"


class EvidenceError(InputError):
    """The case library has problems; carries every one found (file:line: key: message)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"case library is invalid ({len(self.problems)} problem(s)):\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class LibraryCase:
    """A validated library case: the record, its parsed case and where it was read."""

    record: CaseRecord
    case: BaseModel  # an instance of the contract's case model
    where: str  # "<folder>/<file>:<line>"
    holdout: bool

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def ids(self) -> tuple[str, ...]:
        return self.record.diagnosis.ids

    @property
    def in_vocabulary(self) -> bool:
        return bool(self.record.diagnosis.ids)


def default_root() -> Path:
    return Path(str(resources.files("hepcal.evidence")))


def library_files(root: str | Path | None = None, *, include_holdout: bool = False) -> list[Path]:
    """The library's data files in a fixed order (development cases, series, then hold-out)."""
    base = Path(root) if root is not None else default_root()
    files = sorted((base / CASES).glob("*.jsonl")) + sorted((base / SERIES).glob("*.yaml"))
    if include_holdout:
        files += sorted((base / HOLDOUT).glob("*.jsonl"))
    return files


def _pydantic_problems(exc: ValidationError, at: str) -> list[str]:
    return [f"{at}: {'.'.join(str(x) for x in e['loc']) or '(record)'}: {e['msg']}" for e in exc.errors()]


def _read_case_file(path: Path, label: str, holdout: bool, problems: list[str]) -> list[LibraryCase]:
    diagnoses = contract().diagnoses
    out: list[LibraryCase] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{label}: cannot be read ({exc.strerror})")
        return out
    with handle:
        try:
            lines = list(iter_jsonl(handle, label))
        except InputError as exc:
            problems.append(str(exc))
            return out
    for line in lines:
        at = f"{label}:{line.number}"
        if line.error is not None:
            problems.append(str(line.error))
            continue
        try:
            rec = CaseRecord.model_validate(line.record)
        except ValidationError as exc:
            problems += _pydantic_problems(exc, at)
            continue
        bad = [i for i in rec.diagnosis.ids if i not in diagnoses]
        if bad:
            problems.append(f"{at}: diagnosis.ids: {', '.join(map(repr, bad))} not in the contract; allowed: {', '.join(diagnoses)} (or [] for a diagnosis outside the vocabulary)")
            continue
        try:
            case = parse_case(rec.case)
        except CaseError as exc:
            problems += [f"{at}: case.{p.path}: {p.message}" for p in exc.problems]
            continue
        out.append(LibraryCase(rec, case, at, holdout))
    return out


def _load(root: str | Path | None, folders: Iterable[str]) -> list[LibraryCase]:
    base = Path(root) if root is not None else default_root()
    problems: list[str] = []
    cases: list[LibraryCase] = []
    for folder in folders:
        for path in sorted((base / folder).glob("*.jsonl")):
            cases += _read_case_file(path, f"{folder}/{path.name}", folder == HOLDOUT, problems)
    seen: dict[str, str] = {}
    for c in cases:
        if c.id in seen:
            problems.append(f"{c.where}: id {c.id!r} is already used at {seen[c.id]}; ids are unique across the library")
        seen.setdefault(c.id, c.where)
    if problems:
        raise EvidenceError(problems)
    return cases


def load_cases(include_holdout: bool = False, root: str | Path | None = None) -> list[LibraryCase]:
    """The development cases (``cases/``), plus the hold-out when asked (final scoring only)."""
    return _load(root, (CASES, HOLDOUT) if include_holdout else (CASES,))


def load_holdout(root: str | Path | None = None) -> list[LibraryCase]:
    """The frozen hold-out (``holdout/``): never read by the fit or by cross-validation."""
    return _load(root, (HOLDOUT,))


def _variable_states(kb_folder: str | Path | None) -> dict[str, tuple[str, ...]]:
    from hepcal.knowledge import read

    return {v.id: v.states for v in read(kb_folder).variables}


def _count_key(s: SeriesCount) -> tuple:
    """What makes two series counts the same observation: source, diagnosis, finding, state, k, n."""
    where = (s.source.doi or "").lower() or (s.source.url or "").rstrip("/").lower() or s.source.citation
    return (where, s.diagnosis, s.finding, s.state, s.k, s.n)


def load_series(root: str | Path | None = None, kb_folder: str | Path | None = None) -> list[SeriesCount]:
    """Every series count, its diagnosis checked against the contract and its finding and
    state against the knowledge base's evidence variables."""
    base = Path(root) if root is not None else default_root()
    diagnoses = contract().diagnoses
    states = _variable_states(kb_folder)
    problems: list[str] = []
    out: list[SeriesCount] = []
    seen: dict[str, str] = {}
    counted: dict[tuple, str] = {}
    for path in sorted((base / SERIES).glob("*.yaml")):
        label = f"{SERIES}/{path.name}"
        try:
            data: Any = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append(f"{label}: not valid YAML ({exc})")
            continue
        if data is None:
            continue
        if not isinstance(data, list):
            problems.append(f"{label}: expected a YAML list of series counts")
            continue
        for i, item in enumerate(data, start=1):
            at = f"{label}: item {i}" + (f" ({item.get('id')})" if isinstance(item, dict) and item.get("id") else "")
            try:
                s = SeriesCount.model_validate(item)
            except ValidationError as exc:
                problems += _pydantic_problems(exc, at)
                continue
            if s.diagnosis not in diagnoses:
                problems.append(f"{at}: diagnosis {s.diagnosis!r} not in the contract; allowed: {', '.join(diagnoses)}")
            elif s.finding not in states:
                problems.append(f"{at}: finding {s.finding!r} is not an evidence variable of the knowledge base (e.g. finding.calcification.rim, finding.lesion)")
            elif s.state not in states[s.finding]:
                problems.append(f"{at}: state {s.state!r} of {s.finding}; allowed: {', '.join(states[s.finding])}")
            elif s.id in seen:
                problems.append(f"{at}: id {s.id!r} is already used ({seen[s.id]})")
            elif (same := _count_key(s)) in counted:
                problems.append(f"{at}: the same count from the same source is already entered "
                                f"({counted[same]}); a count enters the fit once")
            else:
                seen[s.id] = at
                counted[same] = at
                out.append(s)
    if problems:
        raise EvidenceError(problems)
    return out
