"""Priors by clinical setting (``knowledge/settings.yaml``), without counting the setting twice.

A setting (young child, known primary cancer, echinococcus exposure) changes which diagnoses are
common. Its population priors replace the default ones for the diagnoses that state them; the
other diagnoses share the rest in proportion to the default model's P(d) · P(condition | d). The
variable that put the case in the setting is then renormalised over the setting's states, so the
fact "the case is in this setting" enters once (through the prior) and only the detail within
the setting still acts as evidence. Everything is precomputed per setting when the network is
compiled; choosing the setting for a case is a dictionary lookup and a few vector operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepcal.knowledge import KnowledgeBase


@dataclass(frozen=True)
class Condition:
    variable: str
    states: frozenset[str]
    log_mass: np.ndarray  # (D,) ln Σ_{s in states} P(s | d)


@dataclass(frozen=True)
class CompiledSetting:
    id: str
    name: str
    conditions: tuple[Condition, ...]
    given: np.ndarray  # (D,) bool: the diagnosis states a prior for this setting
    prior: np.ndarray  # (D,) the stated priors (0 where not given)


@dataclass(frozen=True)
class Choice:
    """The setting a case falls in and the log prior that replaces the default one."""

    id: str
    name: str
    keys: tuple[str, ...]  # the variables that placed the case in the setting
    log_prior: np.ndarray | None  # None: the default prior applies unchanged
    prior: np.ndarray | None = None  # (D,) the setting's prior
    log_mass: dict[str, np.ndarray] | None = None  # variable -> ln P(condition | d), for each met condition

    def within(self, variable: str, probs: np.ndarray) -> np.ndarray:
        """P(state | d) of a variable, renormalised over the setting's states when it placed the case here."""
        if not self.log_mass or variable not in self.log_mass:
            return probs
        return probs / np.exp(self.log_mass[variable])


def compile_settings(kb: KnowledgeBase, table: np.ndarray, state_index: dict[tuple[str, str], int]) -> tuple[CompiledSetting, ...]:
    """Precompute every setting's stated priors and each condition's probability mass."""
    if kb.settings is None:
        return ()
    out = []
    for st in kb.settings.settings:
        conditions = []
        for cond in st.when:
            rows = [state_index[(cond.variable, s)] for s in cond.states]
            conditions.append(Condition(cond.variable, frozenset(cond.states), np.log(table[rows].sum(axis=0))))
        given = np.array([st.id in d.priors for d in kb.diagnoses])
        prior = np.array([d.priors[st.id].p if st.id in d.priors else 0.0 for d in kb.diagnoses])
        out.append(CompiledSetting(st.id, st.name, tuple(conditions), given, prior))
    return tuple(out)


def choose(settings: tuple[CompiledSetting, ...], default: tuple[str, str], log_prior: np.ndarray, observed: dict[str, str]) -> Choice:
    """The first setting whose condition the observed states meet, with its effective log prior.

    The returned log prior already subtracts ln P(condition | d) for every met condition, so
    adding the observations' log likelihoods as usual renormalises those variables over the
    setting's states.
    """
    for st in settings:
        met = [c for c in st.conditions if observed.get(c.variable) in c.states]
        if not met:
            continue
        log_mass = np.sum([c.log_mass for c in met], axis=0)
        rest = log_prior + log_mass
        rest = np.where(st.given, -np.inf, rest)
        share = np.exp(rest - rest.max())
        prior = np.where(st.given, st.prior, share / share.sum() * (1.0 - st.prior.sum()))
        with np.errstate(divide="ignore"):
            return Choice(st.id, st.name, tuple(c.variable for c in met), np.log(prior) - log_mass, prior,
                          {c.variable: c.log_mass for c in met})
    return Choice(default[0], default[1], (), None)
