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

from collections.abc import Callable, Mapping
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


_KEYS: dict[tuple[type, str], tuple[tuple[str, str], ...]] = {}
_LAST: tuple[Any, dict[str, Any]] = (None, {})


def entered(case: Any) -> Mapping[str, Any]:
    """The same as :func:`flatten` for a validated case model, read from its attributes and kept
    for the case last asked about (an assessment reads it several times). Read only: the values
    are the model's own."""
    global _LAST
    last = _LAST
    if last[0] is case:
        return last[1]
    if not hasattr(case, "model_dump"):
        return flatten(case)
    out: dict[str, Any] = {}
    for section in type(case).model_fields:
        part = getattr(case, section)
        if part is None:
            continue
        keys = _KEYS.get((type(part), section))
        if keys is None:
            keys = _KEYS[(type(part), section)] = tuple((k, f"{section}.{k}") for k in type(part).model_fields)
        for key, path in keys:
            v = getattr(part, key)
            if v is not None:
                out[path] = v
    _LAST = (case, out)
    return out


Check = Callable[[Facts], bool]
_COMPILED: dict[int, tuple[Mapping[str, Any], Check]] = {}
_COMPILED_MAX = 4096


def _always(facts: Facts) -> bool:
    return True


def _limits(spec: Mapping[str, float]) -> tuple[float, float]:
    return spec.get("min", float("-inf")), spec.get("max", float("inf"))


def _key_check(key: str, spec: Any) -> Check:
    """One ``<case key>: spec`` entry as a function: ``entered``, ``not`` (none of the values),
    ``min``/``max`` (a number in [min, max)) or one of the listed values."""
    if isinstance(spec, Mapping):
        if "entered" in spec:
            want = bool(spec["entered"])
            return lambda f: (f.case.get(key) is not None) is want
        if "not" in spec:
            bad = frozenset(map(str, spec["not"]))

            def none_of(f: Facts) -> bool:
                v = f.case.get(key)
                return v is not None and not bad.intersection(map(str, v if isinstance(v, list) else (v,)))
            return none_of
        lo, hi = _limits(spec)

        def in_range(f: Facts) -> bool:
            v = f.case.get(key)
            return isinstance(v, int | float) and not isinstance(v, bool) and lo <= float(v) < hi
        return in_range
    wanted = tuple(spec) if isinstance(spec, list) else (spec,)
    words = frozenset(map(str, wanted))

    def one_of(f: Facts) -> bool:
        v = f.case.get(key)
        if v is None:
            return False
        return any((not isinstance(x, bool) and str(x) in words) or any(x == w for w in wanted)
                   for x in (v if isinstance(v, list) else (v,)))
    return one_of


def _compile(cond: Mapping[str, Any]) -> Check:
    checks: list[Check] = []
    for key, spec in cond.items():
        if key == "any":
            subs = tuple(compiled(c) for c in spec)
            checks.append(lambda f, subs=subs: any(c(f) for c in subs))
        elif key == "probability":
            bounds = tuple((d, *_limits(s)) for d, s in spec.items())
            checks.append(lambda f, bounds=bounds: all(lo <= f.posterior.get(d, 0.0) < hi for d, lo, hi in bounds))
        elif key == "malignancy":
            lo, hi = _limits(spec)
            checks.append(lambda f, lo=lo, hi=hi: lo <= f.malignancy < hi)
        else:
            checks.append(_key_check(key, spec))
    if len(checks) == 1:
        return checks[0]
    return lambda f: all(c(f) for c in checks)


def compiled(cond: Mapping[str, Any] | None) -> Check:
    """A condition as a function of the facts, built once per condition object (conditions are
    read-only data: the knowledge base's are checked once and then evaluated for every case)."""
    if not cond:
        return _always
    hit = _COMPILED.get(id(cond))
    if hit is not None and hit[0] is cond:
        return hit[1]
    check = _compile(cond)
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[id(cond)] = (cond, check)  # the entry keeps the condition alive: its id stays its own
    return check


def holds(cond: Mapping[str, Any] | None, facts: Facts) -> bool:
    """Whether a condition holds (an absent condition always does)."""
    return compiled(cond)(facts)


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
