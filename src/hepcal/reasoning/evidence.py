"""From a validated case to observed states of the network's variables.

A key that is absent from the case is unknown and contributes nothing (marginalised: in a
naive-Bayes network summing over an unobserved child gives exactly 1). A list key that is given
is a complete description: its listed values are present and the others absent, so
``calcification: [rim]`` also says that no punctate or central calcification was seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hepcal.reasoning.network import Network


@dataclass(frozen=True)
class Observation:
    variable: str  # evidence variable id
    state: str
    row: int  # row of Network.table
    label: str  # as the contract writes it, e.g. "finding.calcification=rim"


def _label(var_id: str, key: str, member: str | None, state: str, raw: Any) -> str:
    if member is not None:
        return f"{key}={member}" if state == "true" else f"{key}≠{member}"
    if isinstance(raw, bool):
        return f"{key}={'true' if raw else 'false'}"
    if isinstance(raw, float):
        return f"{key}={raw:g} ({state.replace('_', ' ')})"
    return f"{key}={raw}"


def observations(case: BaseModel, net: Network) -> list[Observation]:
    """Every observed (variable, state) pair of a validated case."""
    out: list[Observation] = []
    data = case.model_dump(exclude_none=True)
    flat = {f"{section}.{key}": value for section, keys in data.items() for key, value in keys.items()}
    for var in net.variables:
        raw = flat.get(var.key)
        if raw is None:
            continue
        if var.member is not None:
            state = "true" if var.member in raw else "false"
        elif var.kind == "binary":
            state = "true" if raw else "false"
        elif var.kind == "binned":
            state = var.state_of_number(float(raw))
        else:
            state = str(raw)
        out.append(Observation(var.id, state, net.row(var.id, state), _label(var.id, var.key, var.member, state, raw)))
    return out
