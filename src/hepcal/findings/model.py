"""The validated case: pydantic models generated from the contract vocabulary.

Models are strict (no coercion of ``"yes"`` to ``True`` or of ``"5"`` to ``5``) and forbid
unknown keys, because a silently reinterpreted finding would change a differential without
anyone noticing. Errors are reported as :class:`CaseError` listing every problem with its key
path, the bad value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from hepcal.errors import InputError, listed, shown
from hepcal.findings.contract import FieldSpec, contract
from hepcal.findings.synonyms import suggest


class Problem(BaseModel):
    """One reason a case was rejected."""

    path: str
    value: Any = None
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CaseError(InputError):
    """A case does not follow the case format."""

    def __init__(self, problems: list[Problem], where: str | None = None):
        self.problems = problems
        self.where = where
        prefix = f"{where}: " if where else ""
        lines = [f"{prefix}invalid case ({len(problems)} problem(s))"]
        lines += [f"  - {p}" for p in listed([str(p) for p in problems])]
        super().__init__("\n".join(lines))


_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


def _distinct(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("list values must be distinct")
    return values


def _annotation(spec: FieldSpec) -> Any:
    if spec.type == "bool":
        return Optional[bool]
    if spec.type == "number":
        return Optional[float]
    if spec.type == "enum":
        return Optional[Literal[spec.values]]  # type: ignore[valid-type]
    return Optional[list[Literal[spec.values]]]  # type: ignore[valid-type]


def _section_model(section: str) -> type[BaseModel]:
    c = contract()
    fields: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    for name in c.sections[section]:
        spec = c.field(f"{section}.{name}")
        kwargs: dict[str, Any] = {"default": None, "description": spec.label}
        if spec.type == "number":
            kwargs.update(ge=spec.min, le=spec.max, allow_inf_nan=False)
        fields[name] = (_annotation(spec), Field(**kwargs))
        if spec.type == "enum_list":
            validators[f"_distinct_{name}"] = field_validator(name)(_distinct)
    return create_model(  # type: ignore[call-overload]
        section.capitalize(), __config__=_STRICT, __validators__=validators, **fields
    )


@lru_cache(maxsize=1)
def _models() -> dict[str, type[BaseModel]]:
    c = contract()
    sections = {s: _section_model(s) for s in c.sections}
    case = create_model(  # type: ignore[call-overload]
        "Case",
        __config__=_STRICT,
        **{s: (Optional[m], None) for s, m in sections.items()},
    )
    return {**sections, "Case": case}


def case_model() -> type[BaseModel]:
    """The pydantic class of a whole case (built from the contract at first use)."""
    return _models()["Case"]


Case = BaseModel  # type alias for annotations: every case is an instance of case_model()


def _problem_from(err: dict[str, Any]) -> Problem:
    loc = [shown(x, 40).strip("'") if len(str(x)) > 40 else (str(x) or "''") for x in err["loc"]]
    path = ".".join(loc)
    value = err.get("input")
    kind = err["type"]
    c = contract()
    spec = c.fields.get(".".join(loc[:2])) if len(loc) >= 2 else None
    if kind == "extra_forbidden":
        if len(loc) == 1:
            allowed = ", ".join(c.sections)
        else:
            allowed = ", ".join(c.sections.get(loc[0], ()))
        return Problem(path=path, value=value, message=f"unknown key; allowed keys here: {allowed}")
    if spec is not None:
        text = shown(value)
        hint = suggest(spec.path, value, spec.values)
        meant = f"did you mean {hint!r}? " if hint else ""
        if spec.type == "enum_list" and len(loc) == 2 and isinstance(value, str) and hint:
            # one word where a list is expected: say so, never convert
            advice = f"write [{hint}];" if hint == value else f"did you mean [{hint}]?"
            return Problem(path=path, value=value, message=f"{text} is one value, not a list; {advice} expected {spec.allowed()}")
        if spec.type == "enum_list" and len(loc) == 3:
            return Problem(path=path, value=value, message=f"{text} is not allowed; {meant}{spec.path} takes values from {', '.join(spec.values)}")
        if "distinct" in str(err.get("msg", "")):
            return Problem(path=path, value=value, message=f"{text} repeats a value; {spec.allowed()}")
        return Problem(path=path, value=value, message=f"{text} is not allowed; {meant}expected {spec.allowed()}")
    if kind in ("model_type", "dict_type"):
        return Problem(path=path or "(case)", value=value, message=f"expected a mapping of keys, got {type(value).__name__}")
    return Problem(path=path or "(case)", value=value, message=str(err.get("msg")))


def parse_case(data: Any, *, where: str | None = None) -> BaseModel:
    """Validate a case mapping and return the immutable case model.

    Raises :class:`CaseError` naming every bad key path, the bad value and what is allowed;
    a case without any ``finding`` key is an error too (the contract assesses a finding).
    """
    if isinstance(data, BaseModel) and isinstance(data, case_model()):
        return data
    if not isinstance(data, Mapping):
        raise CaseError([Problem(path="(case)", value=None, message=f"a case must be a mapping (object) of sections, got {type(data).__name__}")], where)
    try:
        case = case_model().model_validate(dict(data))
    except ValidationError as exc:
        raise CaseError([_problem_from(e) for e in exc.errors()], where) from None
    finding = getattr(case, "finding", None)
    if finding is None or all(v is None for v in finding.__dict__.values()):  # no key entered
        raise CaseError([Problem(path="finding", value=None, message="a case needs a finding with at least one key (e.g. finding.calcification)")], where)
    conflicts = _conflicts(case)
    if conflicts:
        raise CaseError(conflicts, where)
    return case


def _value(case: BaseModel, path: str) -> Any:
    section, key = path.split(".", 1)
    part = getattr(case, section, None)
    return None if part is None else getattr(part, key, None)


def without_conflicts(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a case mapping with the keys that contradict another key removed.

    For generators of random cases (tests, benchmarks): the excluded key of every contract
    conflict that applies is dropped, so the case is valid.
    """
    out = {section: dict(keys) for section, keys in data.items()}
    for rule in contract().conflicts:
        section, key = rule.key.split(".", 1)
        if out.get(section, {}).get(key) == rule.value:
            ex_section, ex_key = rule.excludes.split(".", 1)
            keys = out.get(ex_section, {})
            if rule.member is None:
                keys.pop(ex_key, None)
            elif isinstance(keys.get(ex_key), list) and rule.member in keys[ex_key]:
                keys[ex_key] = [v for v in keys[ex_key] if v != rule.member]
    return out


def _conflicts(case: BaseModel) -> list[Problem]:
    """The contract's contradictory key combinations present in a case."""
    out = []
    for rule in contract().conflicts:
        value = _value(case, rule.key)
        other = _value(case, rule.excludes)
        if rule.member is not None:
            other = other if other and rule.member in other else None
        if value is not None and value == rule.value and other:
            out.append(Problem(path=rule.excludes, value=other, message=rule.message))
    return out


def case_to_dict(case: BaseModel) -> dict[str, Any]:
    """The case as plain JSON-ready data, unknown keys left out."""
    return case.model_dump(exclude_none=True)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the case format, for editors and other systems."""
    schema = case_model().model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"hepcal case (contract version {contract().version})"
    return schema
