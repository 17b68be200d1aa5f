"""From a validated case to observed states of the network's variables.

A key that is absent from the case is unknown and contributes nothing (marginalised: in a
naive-Bayes network summing over an unobserved child gives exactly 1). A list key that is given
is a complete description: its listed values are present and the others absent, so
``calcification: [rim]`` also says that no punctate or central calcification was seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hepcal.reasoning.conditions import entered
from hepcal.reasoning.network import Network, per_network


@dataclass(frozen=True)
class Observation:
    variable: str  # evidence variable id
    state: str
    row: int  # row of Network.table
    label: str  # as the contract writes it, e.g. "finding.calcification=rim"
    keys: tuple[str, ...] = ()  # the case keys it was read from, when not the variable's own key (a derived reading)


def _observation(variable: str, state: str, row: int, label: str, keys: tuple[str, ...] = ()) -> Observation:
    """An Observation filled in directly (the frozen dataclass's ``__init__`` costs one
    ``object.__setattr__`` per field, for every observed variable of every case); the same object."""
    o = object.__new__(Observation)
    o.__dict__.update(variable=variable, state=state, row=row, label=label, keys=keys)
    return o


def _label(var_id: str, key: str, member: str | None, state: str, raw: Any) -> str:
    if member is not None:
        return f"{key}={member}" if state == "true" else f"{key}≠{member}"
    if isinstance(raw, bool):
        return f"{key}={'true' if raw else 'false'}"
    if isinstance(raw, float):
        return f"{key}={raw:g} ({state.replace('_', ' ')})"
    return f"{key}={raw}"


def _derived(flat: dict[str, Any], net: Network) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Observations read from one key against a reference chosen by another (variable id -> state, label, keys)."""
    out: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for d in net.kb.derived:
        raw = flat.get(d.key)
        if raw is None:
            continue
        by = flat.get(d.by)
        state = d.state(float(raw), by)
        if state is None:
            continue
        limit = f"limit {d.limit(float(by)):g} at {d.by}={by:g}" if by is not None else "whatever the unknown " + d.by
        out[d.into] = (state, f"{d.key}={raw:g} ({'above' if state == d.above else 'within'} the reference: {limit})",
                       (d.key, d.by) if by is not None else (d.key,))
    return out


@per_network
def _by_key(net: Network) -> dict[str, tuple[int, ...]]:
    """case key -> indices of the variables read from it."""
    out: dict[str, list[int]] = {}
    for i, var in enumerate(net.variables):
        out.setdefault(var.key, []).append(i)
    return {k: tuple(v) for k, v in out.items()}


def superseded(by: tuple[str, ...], flat: Mapping[str, Any]) -> bool:
    """Whether another entered key already carries a key's evidence: ``key`` when it is given and
    not empty, ``key=value`` when it equals (a list key: lists) that value."""
    for entry in by:
        key, _, value = entry.partition("=")
        given = flat.get(key)
        if not value:
            if given:
                return True
        elif given is not None and (value in given if isinstance(given, (list, tuple)) else str(given) == value):
            return True
    return False


def observations(case: BaseModel, net: Network) -> list[Observation]:
    """Every observed (variable, state) pair of a validated case.

    A derived reading (e.g. an AFP value against the reference for age) replaces the variable's
    own key; a key whose evidence another given key already carries (``superseded_by``) is not
    counted twice.
    """
    out: list[Observation] = []
    flat = entered(case)
    derived = _derived(flat, net) if net.kb.derived else {}
    by_key = _by_key(net)
    row = net.state_index
    visit = {i for key in flat for i in by_key.get(key, ())}  # variables of entered keys, in network order
    visit.update(net.var_index[v] for v in derived if v in net.var_index)
    for i in sorted(visit):
        var = net.variables[i]
        if var.id in derived:
            state, label, keys = derived[var.id]
            out.append(_observation(var.id, state, row[(var.id, state)], label, keys))
            continue
        raw = flat.get(var.key)
        if raw is None or superseded(var.superseded_by, flat):
            continue
        if var.member is not None:
            state = "true" if var.member in raw else "false"
        elif var.kind == "binary":
            state = "true" if raw else "false"
        elif var.kind == "binned":
            state = var.state_of_number(float(raw))
        else:
            state = str(raw)
        out.append(_observation(var.id, state, row[(var.id, state)], _label(var.id, var.key, var.member, state, raw)))
    return out
