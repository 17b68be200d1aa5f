"""The knowledge base compiled into arrays: the naive-Bayes network the engine evaluates.

One diagnosis node, one child per evidence variable, each child independent of the others given
the diagnosis. Stacking every variable's states into one matrix lets the posterior, the
explanation and the expected information gain run as a few vectorised operations, which is what
makes an assessment take well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepcal.knowledge import KnowledgeBase, load
from hepcal.knowledge.loader import EvidenceVariable
from hepcal.reasoning.setting import CompiledSetting, compile_settings


@dataclass(frozen=True)
class Network:
    kb: KnowledgeBase
    ids: tuple[str, ...]
    names: tuple[str, ...]
    log_prior: np.ndarray  # (D,)
    prior: np.ndarray  # (D,)
    malignant: np.ndarray  # (D,) P(malignant | diagnosis)
    variables: tuple[EvidenceVariable, ...]
    offsets: np.ndarray  # (V+1,) first row of each variable in `table`
    table: np.ndarray  # (S, D) P(state | diagnosis), rows grouped by variable
    log_table: np.ndarray  # (S, D)
    weight_table: np.ndarray  # (S, D) ln P(state | d) − ln P(state | other diagnoses, prior-weighted)
    var_index: dict[str, int]
    state_index: dict[tuple[str, str], int]  # (variable id, state) -> row of table
    settings: tuple[CompiledSetting, ...] = ()  # priors by clinical setting (settings.yaml)
    default_setting: tuple[str, str] = ("default", "default")

    def row(self, variable_id: str, state: str) -> int:
        return self.state_index[(variable_id, state)]


def compile_network(kb: KnowledgeBase) -> Network:
    """Build the array form of a validated knowledge base."""
    prior = np.array([d.prior.p for d in kb.diagnoses], dtype=float)
    prior = prior / prior.sum()
    rows: list[tuple[float, ...]] = []
    offsets = [0]
    state_index: dict[tuple[str, str], int] = {}
    for var in kb.variables:
        cols = [kb.likelihood(d, var).probs for d in kb.diagnoses]
        for s, state in enumerate(var.states):
            state_index[(var.id, state)] = len(rows)
            rows.append(tuple(c[s] for c in cols))
        offsets.append(len(rows))
    table = np.array(rows, dtype=float)
    with np.errstate(divide="ignore"):
        log_table = np.log(table)
        rest = (table @ prior)[:, None] - table * prior  # Σ_{d'≠d} π_d' P(s | d')
        weight_table = log_table - np.log(rest / (1.0 - prior))
    return Network(
        kb=kb,
        ids=kb.ids,
        names=tuple(d.name for d in kb.diagnoses),
        log_prior=np.log(prior),
        prior=prior,
        malignant=np.array([d.malignant.p for d in kb.diagnoses], dtype=float),
        variables=kb.variables,
        offsets=np.array(offsets),
        table=table,
        log_table=log_table,
        weight_table=weight_table,
        var_index={v.id: i for i, v in enumerate(kb.variables)},
        state_index=state_index,
        settings=compile_settings(kb, table, state_index),
        default_setting=(kb.settings.default["id"], kb.settings.default["name"]) if kb.settings else ("default", "default"),
    )


_CACHE: dict[int, Network] = {}
_CACHE_SIZE = 8


def network(kb: KnowledgeBase | None = None) -> Network:
    """The compiled network of ``kb`` (default: the shipped knowledge base), cached.

    Keyed by identity: a loaded knowledge base is immutable, and the cached network keeps a
    reference to it, so an id cannot be reused while its entry lives.
    """
    kb = kb if kb is not None else load()
    net = _CACHE.get(id(kb))
    if net is None or net.kb is not kb:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        net = _CACHE[id(kb)] = compile_network(kb)
    return net
