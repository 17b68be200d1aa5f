"""``KEY=VALUE`` assignments onto a case (``--set`` in the CLI, manifest columns in batch).

The value is read by the type the contract gives the key, so ``true`` becomes a boolean for
``history.fever`` and ``rim,central`` a list for ``finding.calcification``. The result is
validated again, so an override can never smuggle a bad value past the contract.

:func:`value_from_text` is the one rule that turns typed text into a case value, shared by
``--set``, batch manifests and the web checklist form: pydantic's string validation (a boolean
is one of true/false, yes/no, on/off, t/f, y/n, 1/0 in any case; a number is a finite decimal),
so the same text means the same value wherever it is typed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from functools import lru_cache
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from hepcal.errors import shown
from hepcal.findings.contract import FieldSpec, contract
from hepcal.findings.model import CaseError, Problem


@lru_cache(maxsize=1)
def _adapters() -> dict[str, TypeAdapter[Any]]:
    return {"bool": TypeAdapter(bool), "number": TypeAdapter(Annotated[float, Field(allow_inf_nan=False)])}


def value_from_text(spec: FieldSpec, raw: str) -> Any:
    """The value typed text stands for at the key ``spec`` (raises CaseError naming what is allowed).

    Booleans and numbers follow pydantic's lax string rules; a list is comma-separated; an enum
    value is the text itself (the model checks it).
    """
    text = raw.strip()
    adapter = _adapters().get(spec.type)
    if adapter is not None:
        try:
            return adapter.validate_python(text, strict=False)
        except ValidationError:
            raise CaseError([Problem(path=spec.path, value=raw, message=f"{shown(raw)} is not allowed; expected {spec.allowed()}")]) from None
    if spec.type == "enum_list":
        return [v.strip() for v in text.split(",") if v.strip()]
    return text


def coerce(path: str, raw: str) -> Any:
    """Turn the text ``raw`` into the value the contract expects at ``path``."""
    c = contract()
    spec = c.fields.get(path)
    if spec is None:
        known = ", ".join(sorted(c.fields))
        raise CaseError([Problem(path=shown(path, 60).strip("'"), value=raw, message=f"unknown key; allowed keys: {known}")])
    return value_from_text(spec, raw)


def apply_override(case: Mapping[str, Any], assignment: str) -> dict[str, Any]:
    """Return a copy of ``case`` with one ``section.key=value`` applied (not yet validated)."""
    if "=" not in assignment:
        raise CaseError([Problem(path=shown(assignment).strip("'"), value=assignment, message="expected KEY=VALUE, e.g. finding.enhancement=arterial_washout")])
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
