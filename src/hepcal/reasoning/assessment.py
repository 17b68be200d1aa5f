"""Assessing a case: the one call every entry point makes.

``assess`` validates the case, computes the posterior, the malignancy probability, the
explanation, the next findings and the recommendation, and returns an :class:`Assessment` whose
``to_dict`` is the assessment output of the contract (plus documented extra keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from pydantic import BaseModel

from hepcal.findings.contract import contract
from hepcal.findings.model import parse_case
from hepcal.knowledge import KnowledgeBase
from hepcal.reasoning import explanation
from hepcal.reasoning.evidence import Observation, observations
from hepcal.reasoning.network import Network, network
from hepcal.reasoning.next_finding import NextFinding, rank
from hepcal.reasoning.posterior import malignancy_probability, posterior
from hepcal.reasoning.recommendation import Recommendation, is_doubtful, recommend


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
            "malignant": self.malignant,
            "malignancy": self.malignancy,
            "category": self.category,
            "for": pro,
            "against": con,
        }


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
            "doubtful": self.doubtful,
            "recommendation": self.recommendation.to_dict(),
            "next_findings": [n.to_dict() for n in self.next_findings],
            "knowledge_base": dict(self.knowledge_base),
            "contract_version": contract().version,
            "case": self.case.model_dump(exclude_none=True),
        }


def assess_observations(net: Network, case: BaseModel, obs: list[Observation]) -> Assessment:
    post = posterior(net, [o.row for o in obs])
    mal = malignancy_probability(net, post)
    basis = explanation.Basis(obs, explanation.weights(net, obs), fold=net.kb.policy.for_against)
    kb = net.kb
    order = np.argsort(-post, kind="stable")
    entries = []
    for i in order:
        d = kb.diagnoses[i]
        entries.append(Entry(d.id, d.name, float(post[i]), d.malignant.p >= 0.5, float(d.malignant.p), d.category, basis, int(i)))
    observed_keys = {net.variables[net.var_index[o.variable]].key for o in obs}
    return Assessment(
        differential=entries,
        malignancy_probability=mal,
        doubtful=is_doubtful(net, post),
        recommendation=recommend(net, post, mal, case=case, observations=obs),
        next_findings=rank(net, post, observed_keys, kb.policy.next_findings_count, case=case),
        knowledge_base={"version": kb.version, "name": kb.manifest.name},
        observations=obs,
        case=case,
    )


def assess(case: BaseModel | Mapping[str, Any], kb: KnowledgeBase | None = None) -> Assessment:
    """Assess one case (a validated case model or a mapping in the case format).

    Raises ``hepcal.findings.CaseError`` for a case that does not follow the contract.
    """
    case = parse_case(case)
    net = network(kb)
    return assess_observations(net, case, observations(case, net))
