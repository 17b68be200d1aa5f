"""The knowledge base compiled into arrays: the naive-Bayes network the engine evaluates.

One diagnosis node, one child per evidence variable, each child independent of the others given
the diagnosis. Stacking every variable's states into one matrix lets the posterior, the
explanation and the expected information gain run as a few vectorised operations, which is what
makes an assessment take well under a millisecond.

The likelihoods are the fitted ones (``knowledge/fitted.json``: the expert estimate updated with
the case library, see docs/knowledge-base.md) when that file exists and was fitted from the
estimates in the folder; ``compile_network(kb, fitted=False)`` gives the estimates alone. Each
likelihood also carries its Dirichlet parameters (``alpha``), from which the 90 % intervals of an
assessment are drawn.

A binary variable marked ``prior_given`` in variables.yaml (``finding.calcified``) is one the
priors are already conditioned on: they are frequencies among calcified liver findings, so
"calcified" adds nothing and "not calcified" counts as P(not calcified | d) / P(calcified | d).
Its log rows hold those ratios (``reference_rows``), here and in the fit alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property, wraps
from typing import TypeVar

import numpy as np

from hepcal.fit import store
from hepcal.knowledge import KnowledgeBase, load
from hepcal.knowledge.loader import EvidenceVariable
from hepcal.reasoning.setting import CompiledSetting, compile_settings

# Pseudo-count given to an expert estimate when no fit exists: how many cases' worth of belief
# an estimate carries when the intervals are drawn (the fit replaces it with the strength chosen
# by cross-validation).
DEFAULT_STRENGTH = 10.0
DRAWS = 100  # parameter draws behind the intervals (5 % tails: the 5th lowest and highest); 100 keep an assessment under a millisecond
DRAW_SEED = 20261206


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
    estimate_table: np.ndarray  # (S, D) the expert estimates the fit starts from
    alpha: np.ndarray  # (S, D) Dirichlet parameter of each state: strength · estimate + counts
    settings: tuple[CompiledSetting, ...] = ()  # priors by clinical setting (settings.yaml)
    default_setting: tuple[str, str] = ("default", "default")
    fit: str = "estimates"  # "fitted", "estimates" (no fitted.json or fitted=False) or "stale"
    strength: float = DEFAULT_STRENGTH
    evidence: dict = field(default_factory=dict)  # (diagnosis, variable) -> fitted.json entry
    reference: np.ndarray | None = None  # (S,) row each row's log likelihood is read against (prior_given), -1: none
    fit_identity: str = ""  # of the fitted.json in use (empty: the estimates alone)

    @property
    def version(self) -> str:
        """The knowledge base's version with the fit in use (``2.0.0+fit.<hex>``): a refit changes
        the numbers without changing kb.yaml, and stored assessments, reports and batch runs must
        tell the two apart."""
        return f"{self.kb.version}+fit.{self.fit_identity}" if self.fit == "fitted" and self.fit_identity else self.kb.version

    def row(self, variable_id: str, state: str) -> int:
        return self.state_index[(variable_id, state)]

    @cached_property
    def row_group(self) -> np.ndarray:
        """(S,) the variable index of every row."""
        return np.repeat(np.arange(len(self.variables)), np.diff(self.offsets))

    @cached_property
    def log_probability(self) -> np.ndarray:
        """(S, D) ln P(state | d) itself, for measures of fit (``log_table`` reads the rows of a
        ``prior_given`` variable as ratios to its reference state)."""
        if self.reference is None or not (self.reference >= 0).any():
            return self.log_table
        with np.errstate(divide="ignore"):
            return np.log(self.table)

    @cached_property
    def row_keys(self) -> tuple[str, ...]:
        """(S,) the case key of every row's variable."""
        return tuple(self.variables[g].key for g in self.row_group.tolist())

    @cached_property
    def log_draws(self) -> np.ndarray:
        """(S, D, DRAWS) float32 draws of ln P(state | d) from each state's marginal Beta
        (:func:`draw_log_likelihoods` of this network's α)."""
        return draw_log_likelihoods(self.alpha, self.offsets, self.reference)


def draw_log_likelihoods(alpha: np.ndarray, offsets: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """(S, D, DRAWS) float32 draws of ln P(state | d) from each state's marginal Beta.

    A case observes one state per variable, so the marginal Beta(α_s, A − α_s) of that
    state is all an interval needs; draws are independent across variables and diagnoses,
    as the posterior Dirichlets are. A fixed seed makes every output deterministic. Draws
    are the last axis so that an assessment's reductions run over contiguous memory.
    """
    total = group_sums(alpha, offsets)
    rng = np.random.default_rng(DRAW_SEED)
    shape = (*alpha.shape, DRAWS)
    a = np.broadcast_to(np.maximum(alpha, 1e-9)[:, :, None], shape)
    b = np.broadcast_to(np.maximum(total - alpha, 1e-9)[:, :, None], shape)
    draws = rng.beta(a, b)
    logs = np.log(np.clip(draws, 1e-300, 1.0))
    if reference is not None and (reference >= 0).any():
        # a prior_given variable is binary: its other state's draw x gives the ratio x / (1 − x)
        ref = reference >= 0
        own = reference == np.arange(len(reference))
        logs[ref] = np.where(own[ref][:, None, None], 0.0, logs[ref] - np.log(np.clip(1.0 - draws[ref], 1e-300, 1.0)))
    return logs.astype(np.float32)


def group_sums(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(S, D): for every row, the sum over the rows of its variable (one state's siblings)."""
    sums = np.add.reduceat(rows, offsets[:-1], axis=0)
    return np.repeat(sums, np.diff(offsets), axis=0)


def relative_to_reference(log_table: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """Log likelihoods (…, S, D) with every row of a ``prior_given`` variable read against its
    reference state (that state's row becomes 0); other rows unchanged."""
    if reference is None or not (reference >= 0).any():
        return log_table
    out = log_table.copy()
    rows = np.flatnonzero(reference >= 0)
    out[..., rows, :] = log_table[..., rows, :] - log_table[..., reference[rows], :]
    return out


def reference_rows(variables: tuple[EvidenceVariable, ...], state_index: dict[tuple[str, str], int]) -> np.ndarray:
    """(S,) the reference row of each row of a ``prior_given`` variable, -1 elsewhere."""
    ref = np.full(len(state_index), -1)
    for var in variables:
        if getattr(var, "prior_given", None):
            r = state_index[(var.id, var.prior_given)]
            for state in var.states:
                ref[state_index[(var.id, state)]] = r
    return ref


def _tables(table: np.ndarray, prior: np.ndarray, reference: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore"):
        log_table = relative_to_reference(np.log(table), reference)
        ratio = np.exp(log_table)  # the likelihood itself, or its ratio to the reference state
        rest = (ratio @ prior)[:, None] - ratio * prior  # Σ_{d'≠d} π_d' P(s | d')
        weight_table = log_table - np.log(rest / (1.0 - prior))
    return log_table, weight_table


def with_alpha(net: Network, alpha: np.ndarray, fit: str = "fitted", strength: float | None = None) -> Network:
    """The same network with other Dirichlet parameters; likelihoods are their means."""
    table = alpha / group_sums(alpha, net.offsets)
    log_table, weight_table = _tables(table, net.prior, net.reference)
    return replace(net, table=table, log_table=log_table, weight_table=weight_table, alpha=alpha, fit=fit,
                   strength=net.strength if strength is None else strength,
                   settings=compile_settings(net.kb, table, net.state_index))


def state_keys(net: Network) -> list[tuple[str, str]]:
    """(variable id, state) of every row, in row order."""
    keys = [("", "")] * len(net.state_index)
    for key, r in net.state_index.items():
        keys[r] = key
    return keys


def _expert(kb: KnowledgeBase) -> Network:
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
    reference = reference_rows(kb.variables, state_index)
    log_table, weight_table = _tables(table, prior, reference)
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
        estimate_table=table,
        alpha=DEFAULT_STRENGTH * table,
        reference=reference,
        settings=compile_settings(kb, table, state_index),
        default_setting=(kb.settings.default["id"], kb.settings.default["name"]) if kb.settings else ("default", "default"),
    )


def counts_of(net: Network, fitted: store.Fitted) -> np.ndarray:
    """(S, D) the evidence counts a fitted file holds, placed in this network's rows."""
    counts = np.zeros_like(net.table)
    col = {d: j for j, d in enumerate(net.ids)}
    for (d, var_id), e in fitted.entries.items():
        for state, k in zip(e["states"], e["counts"]):
            counts[net.state_index[(var_id, state)], col[d]] = k
    return counts


def compile_network(kb: KnowledgeBase, fitted: bool = True) -> Network:
    """Build the array form of a validated knowledge base (fitted when a current fit exists)."""
    net = _expert(kb)
    if not fitted:
        return net
    fit = store.read(kb.source)
    if fit is None:
        return net
    if fit.inputs.get("estimates") != store.estimates_hash(net.ids, state_keys(net), net.estimate_table):
        return replace(net, fit="stale")  # never apply a fit made from other estimates
    alpha = fit.strength * net.estimate_table + counts_of(net, fit)
    return replace(with_alpha(net, alpha, "fitted", fit.strength), evidence=fit.entries, fit_identity=fit.identity)


T = TypeVar("T")


def per_network(build: Callable[[Network], T]) -> Callable[[Network], T]:
    """Cache ``build(net)`` for each network, by identity (an entry keeps its network alive, so
    an id is not reused while the entry lives): what an assessment reads of the knowledge base is
    precomputed once per network rather than walked on every call."""
    cache: dict[int, tuple[Network, T]] = {}

    @wraps(build)
    def get(net: Network) -> T:
        hit = cache.get(id(net))
        if hit is not None and hit[0] is net:
            return hit[1]
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        value = build(net)
        cache[id(net)] = (net, value)
        return value
    return get


_CACHE: dict[tuple[int, bool], Network] = {}
_CACHE_SIZE = 8


def network(kb: KnowledgeBase | None = None, fitted: bool = True) -> Network:
    """The compiled network of ``kb`` (default: the shipped knowledge base), cached.

    Keyed by identity: a loaded knowledge base is immutable, and the cached network keeps a
    reference to it, so an id cannot be reused while its entry lives.
    """
    kb = kb if kb is not None else load()
    key = (id(kb), fitted)
    net = _CACHE.get(key)
    if net is None or net.kb is not kb:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        net = _CACHE[key] = compile_network(kb, fitted)
    return net
