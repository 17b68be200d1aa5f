"""Load the knowledge base from its data files and resolve every likelihood.

The files are read once and cached; :func:`load` validates the whole base (``check.py``) so
that an assessment is never computed from a broken table. A different folder can be given to
test a modified base without touching the shipped one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from collections.abc import Iterable
from typing import Any

import numpy as np
import yaml

from pydantic import BaseModel, ValidationError

from hepcal import yamlfile
from hepcal.errors import KnowledgeBaseError
from hepcal.findings.contract import contract
from hepcal.knowledge.schema import (
    DefaultsFile,
    Diagnosis,
    Likelihood,
    Manifest,
    PolicyFile,
    Reference,
    ReferencesFile,
    SettingsFile,
    Variable,
    VariablesFile,
)


@dataclass(frozen=True)
class EvidenceVariable:
    """One random variable of the network: a case key, or one member of a list key."""

    id: str  # e.g. "finding.lesion" or "finding.calcification.rim"
    key: str  # the contract key it is read from
    kind: str  # binary | enum | binned
    states: tuple[str, ...]
    member: str | None = None  # for list keys: the list value this variable stands for
    bins: tuple[tuple[str, float], ...] = ()
    superseded_by: tuple[str, ...] = ()  # keys that carry this key's evidence when given
    prior_given: str | None = None  # the state the priors are conditioned on (binary keys only)

    def state_of_number(self, value: float) -> str:
        """The bin a number falls in (last bin whose lower bound it reaches)."""
        return band(((lower, name) for name, lower in self.bins), value)


def band(bands: Iterable[tuple[float, Any]], value: float) -> Any:
    """What the last band whose lower bound ``value`` reaches holds (the first band below all)."""
    items = list(bands)
    chosen = items[0][1]
    for lower, item in items:
        if value >= lower:
            chosen = item
    return chosen


@dataclass(frozen=True)
class DerivedKey:
    """A number read against a reference limit that depends on another key (e.g. AFP for age).

    Its result is an observation of an existing variable (``into``). When the other key is
    unknown, the reading counts only if every band gives the same answer.
    """

    key: str  # the contract key holding the number
    into: str  # the evidence variable it observes
    by: str  # the contract key that selects the reference band
    limits: tuple[tuple[float, float], ...]  # (lower bound of `by`, upper reference limit), ascending
    within: str
    above: str

    def limit(self, by_value: float) -> float:
        """The upper reference limit of the band ``by_value`` falls in."""
        return float(band(self.limits, by_value))

    def state(self, value: float, by_value: float | None) -> str | None:
        """The observed state of ``into``, or None when the reading depends on an unknown band."""
        if by_value is not None:
            return self.above if value > self.limit(float(by_value)) else self.within
        answers = {value > upper for _, upper in self.limits}
        if len(answers) != 1:
            return None
        return self.above if answers.pop() else self.within


@dataclass(frozen=True)
class ResolvedLikelihood:
    """P(state | diagnosis) for every state, and where the numbers came from."""

    probs: tuple[float, ...]
    origin: str  # "diagnosis" or "default"
    spec: Likelihood


@dataclass(frozen=True)
class KnowledgeBase:
    manifest: Manifest
    variables: tuple[EvidenceVariable, ...]
    ignored: dict[str, str]
    derived: tuple[DerivedKey, ...]
    references: dict[str, Reference]
    defaults: dict[str, Likelihood]
    policy: PolicyFile
    diagnoses: tuple[Diagnosis, ...]
    source: str
    settings: SettingsFile | None = None
    _by_var: dict[str, EvidenceVariable] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.diagnoses)

    def diagnosis(self, diagnosis_id: str) -> Diagnosis:
        for d in self.diagnoses:
            if d.id == diagnosis_id:
                return d
        raise KeyError(diagnosis_id)

    def variable(self, variable_id: str) -> EvidenceVariable:
        return self._by_var[variable_id]

    def variables_of_key(self, key: str) -> tuple[EvidenceVariable, ...]:
        return tuple(v for v in self.variables if v.key == key)

    def likelihood(self, diagnosis: Diagnosis, var: EvidenceVariable) -> ResolvedLikelihood:
        """Resolve P(states | diagnosis): the diagnosis's own entry, else the default."""
        spec = diagnosis.likelihoods.get(var.id)
        origin = "diagnosis"
        if spec is None:
            spec = self.defaults.get(var.id)
            origin = "default"
        if spec is None:
            raise KnowledgeBaseError([f"{diagnosis.id}: no likelihood for {var.id} and no default"])
        return ResolvedLikelihood(expand(spec, var.states), origin, spec)


def expand(spec: Likelihood, states: tuple[str, ...]) -> tuple[float, ...]:
    """Turn a likelihood entry into one probability per state (remainder spread evenly)."""
    if spec.p is not None:
        return (float(spec.p), 1.0 - float(spec.p))
    assert spec.dist is not None
    given = {s: float(spec.dist[s]) for s in states if s in spec.dist}
    missing = [s for s in states if s not in given]
    rest = max(0.0, 1.0 - sum(given.values()))
    share = rest / len(missing) if missing else 0.0
    probs = np.array([given.get(s, share) for s in states], dtype=float)
    total = probs.sum()
    return tuple((probs / total).tolist()) if total > 0 else tuple(probs.tolist())


def _read_yaml(path: Path) -> Any:
    try:
        return yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError([f"{path.name}: not valid YAML ({exc})"]) from None
    except OSError as exc:
        raise KnowledgeBaseError([f"{path.name}: cannot be read ({exc.strerror})"]) from None


def _parse(model: type[BaseModel], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{where}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise KnowledgeBaseError(problems) from None


def _expand_variables(vf: VariablesFile) -> tuple[tuple[EvidenceVariable, ...], dict[str, str], tuple[DerivedKey, ...]]:
    c = contract()
    out: list[EvidenceVariable] = []
    ignored: dict[str, str] = {}
    derived: list[DerivedKey] = []
    problems: list[str] = []
    for key, var in vf.variables.items():
        spec = c.fields.get(key)
        if spec is None:
            problems.append(f"variables.yaml: {key} is not a key of the case format")
            continue
        sup = var.superseded_by
        if var.prior_given is not None and (var.kind != "binary" or var.prior_given not in ("true", "false")):
            problems.append(f"variables.yaml: {key}: prior_given needs a binary key and one of its states (true, false)")
            continue
        if var.kind == "ignored":
            ignored[key] = var.why or ""
        elif var.kind == "binary":
            out.append(EvidenceVariable(key, key, "binary", ("true", "false"), superseded_by=sup, prior_given=var.prior_given))
        elif var.kind == "enum":
            out.append(EvidenceVariable(key, key, "enum", spec.values, superseded_by=sup))
        elif var.kind == "binned":
            out.append(EvidenceVariable(key, key, "binned", tuple(b[0] for b in var.bins), bins=var.bins, superseded_by=sup))
        elif var.kind == "members":
            for value in spec.values:
                out.append(EvidenceVariable(f"{key}.{value}", key, "binary", ("true", "false"), member=value, superseded_by=sup))
        elif var.kind == "derived":
            if not (var.into and var.by and var.limits):
                problems.append(f"variables.yaml: {key} is derived and needs into, by and limits")
                continue
            derived.append(DerivedKey(key, var.into, var.by, var.limits, var.within, var.above))
    if problems:
        raise KnowledgeBaseError(problems)
    return tuple(out), ignored, tuple(derived)


def _read_references(root: Path) -> ReferencesFile:
    """Merge every file of references/ (one per topic), refusing a key defined twice."""
    merged: dict[str, Reference] = {}
    problems: list[str] = []
    files = sorted((root / "references").glob("*.yaml"))
    if not files:
        raise KnowledgeBaseError([f"{root / 'references'}: no reference files"])
    for path in files:
        part = _parse(ReferencesFile, _read_yaml(path), f"references/{path.name}")
        for key, ref in part.references.items():
            if key in merged:
                problems.append(f"references/{path.name}: key {key!r} is defined twice")
            merged[key] = ref
    if problems:
        raise KnowledgeBaseError(problems)
    return ReferencesFile(references=merged)


def default_path() -> Path:
    return Path(str(resources.files("hepcal.knowledge")))


def read(folder: str | Path | None = None) -> KnowledgeBase:
    """Read the knowledge base files without the semantic check (see :func:`load`)."""
    root = Path(folder) if folder is not None else default_path()
    if not (root / "kb.yaml").is_file():
        raise KnowledgeBaseError([f"{root}: no kb.yaml here; a knowledge base folder holds kb.yaml, variables.yaml, references/, defaults.yaml, policy.yaml and diagnoses/"])
    manifest = _parse(Manifest, _read_yaml(root / "kb.yaml"), "kb.yaml")
    vf = _parse(VariablesFile, _read_yaml(root / "variables.yaml"), "variables.yaml")
    refs = _read_references(root)
    defaults = _parse(DefaultsFile, _read_yaml(root / "defaults.yaml"), "defaults.yaml")
    policy = _parse(PolicyFile, _read_yaml(root / "policy.yaml"), "policy.yaml")
    settings = _parse(SettingsFile, _read_yaml(root / "settings.yaml"), "settings.yaml") if (root / "settings.yaml").is_file() else None
    variables, ignored, derived = _expand_variables(vf)
    order = list(contract().diagnoses)
    found: list[Diagnosis] = []
    problems: list[str] = []
    for path in sorted((root / "diagnoses").glob("*.yaml")):
        try:
            d = _parse(Diagnosis, _read_yaml(path), f"diagnoses/{path.name}")
        except KnowledgeBaseError as exc:
            problems += exc.problems
            continue
        if d.id != path.stem:
            problems.append(f"diagnoses/{path.name}: id {d.id!r} does not match the file name")
        found.append(d)
    if problems:
        raise KnowledgeBaseError(problems)
    found.sort(key=lambda d: (order.index(d.id) if d.id in order else len(order), d.id))
    kb = KnowledgeBase(
        manifest=manifest,
        variables=variables,
        ignored=ignored,
        derived=derived,
        references=refs.references,
        defaults=defaults.likelihoods,
        policy=policy,
        diagnoses=tuple(found),
        source=str(root),
        settings=settings,
    )
    kb._by_var.update({v.id: v for v in variables})
    return kb


def load(folder: str | Path | None = None) -> KnowledgeBase:
    """Read and fully validate a knowledge base; raises KnowledgeBaseError listing every problem."""
    if folder is None:
        return _load_default()
    from hepcal.knowledge.check import check

    kb = read(folder)
    problems = check(kb)
    if problems:
        raise KnowledgeBaseError(problems)
    return kb


@lru_cache(maxsize=1)
def _load_default() -> KnowledgeBase:
    from hepcal.knowledge.check import check

    kb = read(None)
    problems = check(kb)
    if problems:
        raise KnowledgeBaseError(problems)
    return kb
