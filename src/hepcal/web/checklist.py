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
# The page's layout: the keys a reader enters for almost every lesion come first, in open
# sections; every other key of the contract follows in a collapsed section of its own contract
# section (so a key added to contract.yaml still appears, under "More ..."). Checked against
# the contract by ``checklist()``: a name here that the contract lacks is an error.
COMMON = (
    ("finding", "Lesion", ("finding.modality", "finding.calcification", "finding.count", "finding.size_mm", "finding.lesion")),
    ("context", "History and labs", ("patient.age_years", "patient.sex", "history.incidental", "history.known_primary",
                                     "history.fever", "history.chronic_liver_disease", "history.echinococcus_exposure",
                                     "labs.afp_elevated", "labs.echinococcus_serology_positive")),
)
MORE_TITLES = {"finding": "More lesion findings", "patient": "More about the patient", "history": "More history",
               "labs": "More labs"}


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
    """A group of the checklist; ``common`` groups are open, the others open only when they hold a value."""

    name: str
    title: str
    widgets: list[Widget]
    common: bool = False

    @property
    def entered(self) -> int:
        return sum(w.value is not None for w in self.widgets)

    @property
    def open(self) -> bool:
        return self.common or self.entered > 0


def checklist(case: Mapping[str, Any] | None = None, c: Contract | None = None) -> list[Section]:
    """Sections of widgets (the common keys first, then the rest by contract section), with the values of ``case``."""
    c = c or contract()
    case = case or {}

    def widget(path: str) -> Widget:
        spec = c.field(path)
        return Widget(spec, (case.get(spec.section) or {}).get(spec.name))

    out = [Section(name, title, [widget(p) for p in paths], common=True) for name, title, paths in COMMON]
    placed = {p for _, _, paths in COMMON for p in paths}
    order = ["finding"] + [s for s in c.sections if s != "finding"]
    for section in order:
        rest = [f"{section}.{k}" for k in c.sections.get(section, ()) if f"{section}.{k}" not in placed]
        if rest:
            title = MORE_TITLES.get(section, "More: " + words(section))
            out.append(Section(f"{section}-more", title, [widget(p) for p in rest]))
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


def read_form(form: Mapping[str, Sequence[str]], c: Contract | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """(the values that could be read, a problem for each value that could not).

    A refused value leaves the others standing: the page is drawn again from the first with the
    second marked at its fields, so nothing typed is lost.
    """
    try:
        return case_from_form(form, c), []
    except CaseError as exc:
        refused = {p.path for p in exc.problems}
        return case_from_form({k: v for k, v in form.items() if k not in refused}, c), list(exc.problems)
