"""Conditions written in data: when a rule, a reason or a next test applies to a case.

A condition is a mapping and every entry must hold. Entries:

- ``<case key>: value`` - the key is entered and equals the value (a list key: the value is listed)
- ``<case key>: [a, b]`` - entered and one of these (a list key: one of them is listed)
- ``<case key>: {entered: false}`` - the key is not in the case (``true``: it is, any value)
- ``<case key>: {not: [a, b]}`` - entered and none of these
- ``<case key>: {min: x, max: y}`` - a number entered with min <= value < max
- ``probability: {<diagnosis id>: {min: p}}`` - posterior of a diagnosis (0 if the base lacks it)
- ``malignancy: {min: p}`` - P(malignant), read at the upper bound of its interval when known
- ``any: [condition, ...]`` - at least one of the conditions holds

Keeping the language this small lets the knowledge check validate every condition against the
vocabulary, and lets a test ask which case keys a shown sentence relies on (:func:`cited_keys`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hepcal.findings.contract import contract

SPECIAL = ("probability", "malignancy", "any")


@dataclass(frozen=True)
class Facts:
    """What a condition may read: the entered case keys, the posterior and P(malignant)."""

    case: Mapping[str, Any]  # flat "section.key" -> value, entered keys only
    posterior: Mapping[str, float] = field(default_factory=dict)
    malignancy: float = 0.0


def flatten(case: Any) -> dict[str, Any]:
    """Entered keys of a case (model or nested mapping) as ``section.key -> value``."""
    data = case.model_dump(exclude_none=True) if hasattr(case, "model_dump") else dict(case or {})
    return {f"{s}.{k}": v for s, keys in data.items() if isinstance(keys, Mapping) for k, v in keys.items() if v is not None}


def _range(value: float, spec: Mapping[str, float]) -> bool:
    return spec.get("min", float("-inf")) <= value < spec.get("max", float("inf"))


def _key_holds(value: Any, spec: Any) -> bool:
    if isinstance(spec, Mapping):
        if "entered" in spec:
            return (value is not None) is bool(spec["entered"])
        if value is None:
            return False
        if "not" in spec:
            values = value if isinstance(value, list) else [value]
            return not set(map(str, values)) & set(map(str, spec["not"]))
        return isinstance(value, int | float) and not isinstance(value, bool) and _range(float(value), spec)
    if value is None:
        return False
    wanted = spec if isinstance(spec, list) else [spec]
    values = value if isinstance(value, list) else [value]
    return any(v == w or (not isinstance(v, bool) and str(v) == str(w)) for v in values for w in wanted)


def holds(cond: Mapping[str, Any] | None, facts: Facts) -> bool:
    """Whether a condition holds (an absent condition always does)."""
    if not cond:
        return True
    for key, spec in cond.items():
        if key == "any":
            if not any(holds(c, facts) for c in spec):
                return False
        elif key == "probability":
            if not all(_range(facts.posterior.get(d, 0.0), s) for d, s in spec.items()):
                return False
        elif key == "malignancy":
            if not _range(facts.malignancy, spec):
                return False
        elif not _key_holds(facts.case.get(key), spec):
            return False
    return True


def cited_keys(cond: Mapping[str, Any] | None, facts: Facts) -> set[str]:
    """Case keys a condition that holds relies on (keys it requires to be absent are not cited)."""
    out: set[str] = set()
    for key, spec in (cond or {}).items():
        if key == "any":
            for c in spec:
                if holds(c, facts):
                    out |= cited_keys(c, facts)
        elif key in SPECIAL:
            continue
        elif not (isinstance(spec, Mapping) and spec.get("entered") is False):
            out.add(key)
    return out


def problems(cond: Mapping[str, Any] | None, where: str, diagnoses: set[str]) -> list[str]:
    """Vocabulary errors in a condition: unknown keys, values or diagnosis ids."""
    out: list[str] = []
    fields = contract().fields
    for key, spec in (cond or {}).items():
        if key == "any":
            if not isinstance(spec, list) or not spec:
                out.append(f"{where}: any: needs a list of conditions")
                continue
            for i, c in enumerate(spec):
                out += problems(c, f"{where}: any[{i}]", diagnoses)
        elif key == "probability":
            for d, s in (spec or {}).items():
                if d not in diagnoses:
                    out.append(f"{where}: probability: {d!r} is not a diagnosis of the base (or listed in awaited_diagnoses)")
                if not isinstance(s, Mapping) or not set(s) <= {"min", "max"}:
                    out.append(f"{where}: probability: {d}: give min and/or max")
        elif key == "malignancy":
            if not isinstance(spec, Mapping) or not set(spec) <= {"min", "max"}:
                out.append(f"{where}: malignancy: give min and/or max")
        elif key not in fields:
            out.append(f"{where}: {key!r} is not a key of the case format")
        else:
            f = fields[key]
            if isinstance(spec, Mapping):
                allowed = {"entered"} if "entered" in spec else {"not"} if "not" in spec else {"min", "max"}
                if not set(spec) <= allowed:
                    out.append(f"{where}: {key}: use one of value, [values], {{entered}}, {{not}}, {{min, max}}")
                values = spec.get("not", [])
            else:
                values = spec if isinstance(spec, list) else [spec]
            if f.values:
                bad = [v for v in values if str(v) not in f.values]
                if bad:
                    out.append(f"{where}: {key}: unknown value(s) {', '.join(map(str, bad))}; allowed: {', '.join(f.values)}")
    return out
