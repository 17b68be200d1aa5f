"""The checklist of the assess page, generated from the case contract, and its form back to a case.

No field is written here by hand: sections, keys, labels and choices all come from
``hepcal.findings.contract()``, so a new key in ``contract.yaml`` appears on the page by itself.
Every key starts unknown; "no" (and "none of these" for lists) records an absent finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hepcal.findings.contract import Contract, FieldSpec, contract
from hepcal.findings.model import CaseError, Problem
from hepcal.findings.overrides import value_from_text

NONE_OF_THESE = "__none__"  # form value meaning "the list is known and empty"
FIRST_SECTIONS = ("finding",)  # the lesion is what the reader enters first; the rest follows in contract order


def words(value: str) -> str:
    """A contract value as a reader sees it: ``arterial_washout`` → ``arterial washout``."""
    return value.replace("_", " ")


@dataclass(frozen=True)
class Widget:
    """One key of the checklist with its current value (``None`` = unknown)."""

    spec: FieldSpec
    value: Any = None

    @property
    def name(self) -> str:
        return self.spec.path

    @property
    def dom_id(self) -> str:
        return "f-" + self.spec.path.replace(".", "-")

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(v, words(v)) for v in self.spec.values]

    def is_selected(self, choice: str) -> bool:
        if self.spec.type == "enum_list":
            if choice == NONE_OF_THESE:
                return self.value == []
            return isinstance(self.value, list) and choice in self.value
        return self.value == choice

    @property
    def bool_state(self) -> str:
        return "" if self.value is None else ("true" if self.value else "false")

    @property
    def number_text(self) -> str:
        if self.value is None:
            return ""
        return f"{float(self.value):g}"


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    widgets: list[Widget]


def checklist(case: Mapping[str, Any] | None = None, c: Contract | None = None) -> list[Section]:
    """Sections of widgets (the finding first, then contract order), filled with the values of ``case``."""
    c = c or contract()
    case = case or {}
    out: list[Section] = []
    order = [s for s in FIRST_SECTIONS if s in c.sections] + [s for s in c.sections if s not in FIRST_SECTIONS]
    for section in order:
        keys = c.sections[section]
        values = case.get(section) or {}
        widgets = [Widget(c.field(f"{section}.{k}"), values.get(k)) for k in keys]
        out.append(Section(section, section.capitalize(), widgets))
    return out


def _one(form: Mapping[str, Sequence[str]], key: str) -> str:
    vals = form.get(key) or []
    return vals[-1].strip() if vals else ""


def case_from_form(form: Mapping[str, Sequence[str]], c: Contract | None = None) -> dict[str, Any]:
    """The case mapping a submitted checklist describes (not yet validated against the model).

    ``form`` maps field names (``section.key``) to submitted values. Empty values are unknown and
    left out; anything not in the contract is ignored (the page sends only contract keys). Text
    becomes a value by the same rule as ``--set`` in the CLI
    (:func:`hepcal.findings.overrides.value_from_text`).
    """
    c = c or contract()
    case: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for path, spec in c.fields.items():
        value: Any
        if spec.type == "enum_list":
            picked = [v.strip() for v in (form.get(path) or []) if v.strip()]
            if not picked:
                continue
            value = [] if NONE_OF_THESE in picked else list(dict.fromkeys(picked))
        else:
            raw = _one(form, path)
            if not raw:
                continue
            if spec.type in ("bool", "number"):
                try:
                    value = value_from_text(spec, raw)
                except CaseError as exc:
                    problems.extend(exc.problems)
                    continue
            else:
                value = raw
        case.setdefault(spec.section, {})[spec.name] = value
    if problems:
        raise CaseError(problems)
    return case
