"""Assessing a case: the one call every entry point makes.

``assess`` validates the case, computes the posterior, the malignancy probability, the
explanation, the next findings and the recommendation, and returns an :class:`Assessment` whose
``to_dict`` is the assessment output of the contract (plus documented extra keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from pydantic import BaseModel

from hepcal.findings.contract import contract
from hepcal.findings.model import parse_case
from hepcal.knowledge import KnowledgeBase
from hepcal.reasoning import atypical as atypical_flag
from hepcal.reasoning import explanation
from hepcal.reasoning.evidence import Observation, observations
from hepcal.reasoning.network import Network, network, per_network
from hepcal.reasoning.next_finding import NextFinding, rank
from hepcal.reasoning.posterior import averaged, malignancy_probability
from hepcal.reasoning.recommendation import Recommendation, is_doubtful, recommend
from hepcal.reasoning.setting import Choice, choose
from hepcal.reasoning.similar import default_index, similar_cases


@dataclass(frozen=True)
class Entry:
    """One diagnosis of the differential; its for/against lists are built when first read."""

    id: str
    name: str
    probability: float
    malignant: bool
    malignancy: float
    category: str
    _basis: explanation.Basis
    _index: int
    probability_interval: tuple[float, float] = (0.0, 1.0)  # 90 %, from the likelihoods' uncertainty

    @cached_property
    def _split(self) -> tuple[list[explanation.Contribution], list[explanation.Contribution]]:
        return self._basis.split(self._index)

    @property
    def pro(self) -> list[explanation.Contribution]:
        return self._split[0]

    @property
    def con(self) -> list[explanation.Contribution]:
        return self._split[1]

    def to_dict(self) -> dict:
        pro, con = self._basis.split_dicts(self._index)
        return {
            "id": self.id,
            "name": self.name,
            "probability": self.probability,
            "probability_interval": list(self.probability_interval),
            "malignant": self.malignant,
            "malignancy": self.malignancy,
            "category": self.category,
            "for": pro,
            "against": con,
        }


@per_network
def _diagnosis_fields(net: Network) -> tuple[tuple[str, str, bool, float, str], ...]:
    """(id, name, malignant, malignancy, category) of every diagnosis, read once per network."""
    return tuple((d.id, d.name, d.malignant.p >= 0.5, float(d.malignant.p), d.category) for d in net.kb.diagnoses)


@per_network
def _names(net: Network) -> dict[str, str]:
    return dict(zip(net.ids, net.names))


def _entries(net: Network, post: np.ndarray, bounds: np.ndarray, basis: explanation.Basis) -> list[Entry]:
    """The differential, most probable first (ties in the network's order).

    Entries are filled in directly rather than through the frozen dataclass's ``__init__``
    (nine ``object.__setattr__`` calls each, for every diagnosis of every assessment); they are
    the same frozen objects.
    """
    fields = _diagnosis_fields(net)
    p = post.tolist()
    b = bounds.tolist()
    out = []
    new = object.__new__
    for i in (-post).argsort(kind="stable").tolist():
        f = fields[i]
        e = new(Entry)
        e.__dict__.update(id=f[0], name=f[1], probability=p[i], malignant=f[2], malignancy=f[3], category=f[4],
                          _basis=basis, _index=i, probability_interval=(b[i][0], b[i][1]))
        out.append(e)
    return out


@dataclass(frozen=True, slots=True)
class Assessment:
    differential: list[Entry]
    malignancy_probability: float
    doubtful: bool
    recommendation: Recommendation
    next_findings: list[NextFinding]
    knowledge_base: dict[str, str]
    observations: list[Observation]
    case: BaseModel
    setting: Choice | None = None
    atypical: bool = False
    atypical_reason: str = ""
    similar_cases: list[dict[str, Any]] = field(default_factory=list)
    malignancy_interval: tuple[float, float] = (0.0, 1.0)  # 90 %, from the likelihoods' uncertainty

    @property
    def top(self) -> Entry:
        return self.differential[0]

    def probability_of(self, diagnosis_id: str) -> float:
        for e in self.differential:
            if e.id == diagnosis_id:
                return e.probability
        raise KeyError(diagnosis_id)

    def rank_of(self, diagnosis_id: str) -> int:
        """1-based rank of a diagnosis in the differential."""
        for i, e in enumerate(self.differential, start=1):
            if e.id == diagnosis_id:
                return i
        raise KeyError(diagnosis_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "differential": [e.to_dict() for e in self.differential],
            "malignancy_probability": self.malignancy_probability,
            "malignancy_interval": list(self.malignancy_interval),
            "doubtful": self.doubtful,
            "recommendation": self.recommendation.to_dict(),
            "next_findings": [n.to_dict() for n in self.next_findings],
            "knowledge_base": dict(self.knowledge_base),
            "contract_version": contract().version,
            "atypical": self.atypical,
            "atypical_reason": self.atypical_reason,
            "similar_cases": [dict(c) for c in self.similar_cases],
            "setting": {"id": self.setting.id, "name": self.setting.name, "keys": list(self.setting.keys)} if self.setting else None,
            "case": self.case.model_dump(exclude_none=True),
        }


def setting_of(net: Network, obs: list[Observation]) -> Choice:
    """The clinical setting whose priors apply to these observations (settings.yaml)."""
    return choose(net.settings, net.default_setting, net.log_prior, {o.variable: o.state for o in obs})


def assess_observations(net: Network, case: BaseModel, obs: list[Observation]) -> Assessment:
    setting = setting_of(net, obs)
    rows = [o.row for o in obs]
    post, bounds, mal_interval = averaged(net, rows, log_prior=setting.log_prior)
    mal = malignancy_probability(net, post)
    basis = explanation.Basis(obs, explanation.weights(net, obs, setting), fold=net.kb.policy.for_against)
    kb = net.kb
    keys = net.row_keys
    observed_keys = {keys[r] for r in rows}
    cal = atypical_flag.calibration()
    verdict = atypical_flag.judge(net, rows, cal)
    return Assessment(
        differential=_entries(net, post, bounds, basis),
        malignancy_probability=mal,
        doubtful=is_doubtful(net, post),
        recommendation=recommend(net, post, mal, case=case, observations=obs, malignancy_interval=mal_interval),
        next_findings=rank(net, post, observed_keys, kb.policy.next_findings_count, case=case),
        knowledge_base={"version": net.version, "name": kb.manifest.name},
        observations=obs,
        case=case,
        setting=setting,
        atypical=verdict.atypical,
        atypical_reason=atypical_flag.reason(net, verdict, {o.row: o.label for o in obs} if verdict.atypical else {}, cal),
        similar_cases=similar_cases(default_index(net), rows, _names(net)),
        malignancy_interval=mal_interval,
    )


def assess(case: BaseModel | Mapping[str, Any], kb: KnowledgeBase | None = None) -> Assessment:
    """Assess one case (a validated case model or a mapping in the case format).

    Raises ``hepcal.findings.CaseError`` for a case that does not follow the contract.
    """
    case = parse_case(case)
    net = network(kb)
    return assess_observations(net, case, observations(case, net))
