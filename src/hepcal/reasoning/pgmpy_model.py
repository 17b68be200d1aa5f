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
        cpds.append(TabularCPD(name, len(var.states), block, evidence=["Diagnosis"], evidence_card=[len(net.ids)],
                               state_names={name: list(var.states), "Diagnosis": list(net.ids)}))
    model.add_cpds(*cpds)
    model.check_model()
    return model


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
