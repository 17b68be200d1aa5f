"""The case-format vocabulary, loaded once from ``contract.yaml``.

Everything that needs to know a key, its type or its allowed values (validation, the JSON
Schema, the knowledge-base check, the web checklist) asks this module, so the vocabulary
lives in one data file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from hepcal import yamlfile

FieldType = Literal["bool", "enum", "enum_list", "number"]


@dataclass(frozen=True)
class FieldSpec:
    """One key of the case format."""

    section: str
    name: str
    type: FieldType
    label: str
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    since: int = 1  # the contract version that added the key


    @property
    def path(self) -> str:
        return f"{self.section}.{self.name}"

    def allowed(self) -> str:
        """Human-readable statement of what this key accepts."""
        if self.type == "bool":
            return "true or false"
        if self.type == "enum":
            return "one of " + ", ".join(self.values)
        if self.type == "enum_list":
            return "a list of distinct values from " + ", ".join(self.values)
        return f"a number from {self.min:g} to {self.max:g}"


@dataclass(frozen=True)
class Conflict:
    """Two keys that contradict each other: ``key`` equal to ``value`` excludes ``excludes``."""

    key: str
    value: object
    excludes: str
    message: str
    member: str | None = None  # only when the excluded list key lists this value


@dataclass(frozen=True)
class Contract:
    version: int
    fields: dict[str, FieldSpec]  # keyed by "section.name"
    sections: dict[str, tuple[str, ...]]
    diagnoses: dict[str, dict[str, str]]
    actions: tuple[str, ...]
    conflicts: tuple[Conflict, ...] = ()

    def field(self, path: str) -> FieldSpec:
        return self.fields[path]


@lru_cache(maxsize=1)
def contract() -> Contract:
    """Load and cache the contract vocabulary shipped with the package."""
    raw = yamlfile.safe_load(resources.files("hepcal.findings").joinpath("contract.yaml").read_text("utf-8"))
    fields: dict[str, FieldSpec] = {}
    sections: dict[str, tuple[str, ...]] = {}
    for section, keys in raw["sections"].items():
        sections[section] = tuple(keys)
        for name, spec in keys.items():
            fields[f"{section}.{name}"] = FieldSpec(
                section=section,
                name=name,
                type=spec["type"],
                label=spec.get("label", name),
                values=tuple(spec.get("values", ())),
                min=spec.get("min"),
                max=spec.get("max"),
                since=int(spec.get("since", 1)),
            )
    return Contract(
        version=int(raw["version"]),
        fields=fields,
        sections=sections,
        diagnoses=dict(raw["diagnoses"]),
        actions=tuple(raw["actions"]),
        conflicts=tuple(Conflict(c["key"], c["is"], c["excludes"], c["message"], c.get("member")) for c in raw.get("conflicts", ())),
    )
