"""The same network as a pgmpy model, to check hepcal's engine against a reference library.

Used by the tests and by ``make bench``: pgmpy's variable elimination must give the same
posterior (to 1e-9) on the network built from the same knowledge base. pgmpy is an optional
dependency (extra ``bench``), imported only here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepcal.reasoning.evidence import Observation
from hepcal.reasoning.network import Network


def build(net: Network):  # noqa: ANN201 - pgmpy types are optional
    """A pgmpy DiscreteBayesianNetwork: Diagnosis → every evidence variable."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    names = [f"v{i}" for i in range(len(net.variables))]
    model = DiscreteBayesianNetwork([("Diagnosis", n) for n in names])
    cpds = [TabularCPD("Diagnosis", len(net.ids), net.prior.reshape(-1, 1), state_names={"Diagnosis": list(net.ids)})]
    for i, (name, var) in enumerate(zip(names, net.variables)):
        block = net.table[net.offsets[i]:net.offsets[i + 1]]  # (states, D)
        states = list(var.states)
        if var.prior_given:
            block, states = _ratio_block(net.log_table[net.offsets[i]:net.offsets[i + 1]]), [*states, "_unobserved"]
        cpds.append(TabularCPD(name, len(states), block, evidence=["Diagnosis"], evidence_card=[len(net.ids)],
                               state_names={name: states, "Diagnosis": list(net.ids)}))
    model.add_cpds(*cpds)
    model.check_model()
    return model


def _ratio_block(log_rows: np.ndarray) -> np.ndarray:
    """A proper CPD that gives the engine's posterior for a ``prior_given`` variable.

    The engine multiplies by a ratio r(s | d) (1 for the reference state). Scaling every ratio
    by one constant m keeps the posterior, and an extra state that is never observed takes the
    rest, so each column sums to one: P(s | d) = m · r(s | d), P(rest | d) = 1 − m · Σ_s r(s | d).
    """
    ratios = np.exp(log_rows)
    m = 1.0 / ratios.sum(axis=0).max()
    block = m * ratios
    return np.vstack([block, np.clip(1.0 - block.sum(axis=0), 0.0, 1.0)])


class PgmpyEngine:
    """Posterior by pgmpy's VariableElimination on the equivalent network."""

    def __init__(self, net: Network):
        from pgmpy.inference import VariableElimination

        self.net = net
        self.model = build(net)
        self.infer = VariableElimination(self.model)

    def posterior(self, obs: Sequence[Observation]) -> np.ndarray:
        evidence = {f"v{self.net.var_index[o.variable]}": o.state for o in obs}
        q = self.infer.query(["Diagnosis"], evidence=evidence, show_progress=False)
        order = [q.state_names["Diagnosis"].index(i) for i in self.net.ids]
        return np.asarray(q.values, dtype=float)[order]

    def information_gain(self, obs: Sequence[Observation], variable_ids: Sequence[str]) -> dict[str, float]:
        """EIG (bits) of each variable given the evidence, from pgmpy joint queries P(D, V | e).

        This is what hepcal's next-finding ranking computes; doing it with pgmpy takes one
        variable-elimination query per candidate variable.
        """
        evidence = {f"v{self.net.var_index[o.variable]}": o.state for o in obs}
        out: dict[str, float] = {}
        for var_id in variable_ids:
            name = f"v{self.net.var_index[var_id]}"
            q = self.infer.query(["Diagnosis", name], evidence=evidence, joint=True, show_progress=False)
            joint = np.asarray(q.values, dtype=float)
            if q.variables[0] != "Diagnosis":
                joint = joint.T
            p_d = joint.sum(axis=1)
            p_v = joint.sum(axis=0)
            h = _entropy(p_d)
            cond = sum(pv * _entropy(joint[:, j] / pv) for j, pv in enumerate(p_v) if pv > 0)
            out[var_id] = h - cond
        return out


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())
