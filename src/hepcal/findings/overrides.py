"""``KEY=VALUE`` assignments onto a case (``--set`` in the CLI, manifest columns in batch).

The value is read by the type the contract gives the key, so ``true`` becomes a boolean for
``history.fever`` and ``rim,central`` a list for ``finding.calcification``. The result is
validated again, so an override can never smuggle a bad value past the contract.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from hepcal.findings.contract import contract
from hepcal.findings.model import CaseError, Problem

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def coerce(path: str, raw: str) -> Any:
    """Turn the text ``raw`` into the value the contract expects at ``path``."""
    c = contract()
    spec = c.fields.get(path)
    if spec is None:
        known = ", ".join(sorted(c.fields))
        raise CaseError([Problem(path=path, value=raw, message=f"unknown key; allowed keys: {known}")])
    text = raw.strip()
    if spec.type == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise CaseError([Problem(path=path, value=raw, message=f"{raw!r} is not allowed; expected {spec.allowed()}")])
    if spec.type == "number":
        try:
            return float(text)
        except ValueError:
            raise CaseError([Problem(path=path, value=raw, message=f"{raw!r} is not allowed; expected {spec.allowed()}")]) from None
    if spec.type == "enum_list":
        return [v.strip() for v in text.split(",") if v.strip()]
    return text


def apply_override(case: Mapping[str, Any], assignment: str) -> dict[str, Any]:
    """Return a copy of ``case`` with one ``section.key=value`` applied (not yet validated)."""
    if "=" not in assignment:
        raise CaseError([Problem(path=assignment, value=assignment, message="expected KEY=VALUE, e.g. finding.enhancement=arterial_washout")])
    path, raw = assignment.split("=", 1)
    path = path.strip()
    value = coerce(path, raw)
    section, key = path.split(".", 1)
    out = copy.deepcopy(dict(case))
    target = dict(out.get(section) or {})
    target[key] = value
    out[section] = target
    return out


def apply_overrides(case: Mapping[str, Any], assignments: Iterable[str]) -> dict[str, Any]:
    """Apply several assignments in order (later ones win)."""
    out = dict(case)
    for a in assignments:
        out = apply_override(out, a)
    return out
